"""The one exception type a user sees: a one-line message naming the culprit, no traceback."""


class GancliError(Exception):
    """An error caused by the user's input (a flag, a file, a plugin) rather than by a bug in gancli."""


class PluginError(GancliError):
    """An error raised inside a plugin, reported with the plugin's name and the package that provides it."""

    def __init__(self, plugin: str, package: str, message: str) -> None:
        super().__init__(f"plugin {plugin!r} (package {package}): {message}")
        self.plugin = plugin
        self.package = package
