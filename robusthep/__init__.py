"""robusthep: trustworthy machine learning for particle physics."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("robusthep")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
