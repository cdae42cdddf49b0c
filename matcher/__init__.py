"""mianshen: matcher — batch evaluation, explanations, exclusivity and budgets, runs."""

from importlib import metadata

try:
    __version__ = metadata.version("mianshen")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
