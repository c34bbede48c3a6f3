"""The one exception type a user sees: a one-line message naming the culprit, no traceback."""


def one_line(text: str) -> str:
    """``text`` on one line: a user sees one line per error, however many a library's message spans."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


class GancliError(Exception):
    """An error caused by the user's input (a flag, a file, a plugin) rather than by a bug in gancli."""


class PluginError(GancliError):
    """An error raised inside a plugin, reported with the plugin's name and the package that provides it."""

    def __init__(self, plugin: str, package: str, message: str) -> None:
        super().__init__(f"plugin {plugin!r} (package {package}): {one_line(message)}")
        self.plugin = plugin
        self.package = package
        self.detail = one_line(message)


class Interrupted(KeyboardInterrupt):
    """A command stopped by Ctrl-C or SIGTERM: ``message`` says what became of its work, ``exit_code`` is the
    shell's 128 + signal."""

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = 128 + signum
