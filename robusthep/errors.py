"""The exceptions robusthep raises at its public boundary."""

__all__ = [
    "ConfigError",
    "ConstraintError",
    "DataError",
    "MissingDependencyError",
    "ModelFileError",
    "RobustHEPError",
    "TrainingError",
]


class RobustHEPError(Exception):
    """Base class of every error robusthep raises on purpose.

    Catch this to handle any robusthep failure; the subclasses say which kind it was.
    Every message names the bad value, where it was found and what to do about it.
    """


class ConfigError(RobustHEPError, ValueError):
    """Raised when an argument, option or configuration key is invalid.

    Examples: a negative Lipschitz constant, a group size that does not divide the width,
    an unknown norm kind, a monotonic feature listed twice, an unknown config key.
    """


class DataError(RobustHEPError, ValueError):
    """Raised when input data cannot be used as given.

    Examples: NaN or infinite values, a missing column, a shape that does not match the
    model, an empty selection.
    """


class ConstraintError(RobustHEPError):
    """Raised when a guarantee cannot hold.

    Examples: a monotonic wrapper whose λ is smaller than the certified Lipschitz bound of
    the network it wraps, or a module whose Lipschitz bound cannot be derived.
    """


class ModelFileError(RobustHEPError):
    """Raised when a saved model cannot be loaded faithfully.

    Examples: a truncated weights file, weights that disagree with the JSON description,
    a file written by a newer format version, an unknown module type.
    """


class MissingDependencyError(RobustHEPError, ImportError):
    """Raised when an optional dependency (Ray, monotonicnetworks, …) is not installed.

    The message says which package to install.
    """


class TrainingError(RobustHEPError):
    """Raised when training breaks down and cannot go on.

    Examples: a loss that becomes NaN or infinite at some step (the message names the epoch
    and step), a validation loss that is not finite.
    """
