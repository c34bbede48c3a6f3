"""Plugin system: hook specifications, the manager, and the registry of what plugins provide."""

from gancli.plugins.hookspecs import hookimpl
from gancli.plugins.manager import Plugins, get_plugins
from gancli.plugins.registry import Option, Registration, Registry, without_options

__all__ = ["Option", "Plugins", "Registration", "Registry", "get_plugins", "hookimpl", "without_options"]
