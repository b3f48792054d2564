"""A seeded, quiet Pythia 8 generator whose rejected settings become clear errors."""

from collections.abc import Sequence
from typing import Any

from robusthep.errors import ConfigError, MissingDependencyError
from robusthep.sim._stdout import captured_stdout

__all__ = [
    "COLLIDER_SETTINGS",
    "FAST_SETTINGS",
    "MAX_PYTHIA_SEED",
    "check_settings",
    "make_pythia",
]

MAX_PYTHIA_SEED = 900_000_000
"""Pythia's ``Random:seed`` accepts 0 … 900 000 000."""

COLLIDER_SETTINGS = (
    "Beams:idA = 2212",
    "Beams:idB = 2212",
    "Beams:eCM = 13000.",
    "Next:numberCount = 0",
    "Next:numberShowEvent = 0",
    "Next:numberShowInfo = 0",
    "Next:numberShowProcess = 0",
    "Init:showChangedSettings = off",
    "Init:showChangedParticleData = off",
    "Init:showProcesses = off",
    "Print:quiet = on",
)
"""13 TeV proton-proton collisions, with Pythia's printing switched off."""

FAST_SETTINGS = ("PartonLevel:MPI = off",)
"""The fast mode: no multiparton interactions (no underlying event); see docs/sim.md."""


def _pythia_message(lines: Sequence[str]) -> str:
    text = " ".join(line.strip() for line in lines if line.strip())
    return text or "(Pythia printed no message)"


def _new_pythia() -> Any:
    try:
        import pythia8mc
    except ImportError as error:  # pragma: no cover - a declared dependency
        raise MissingDependencyError(
            "event generation needs Pythia 8: pip install pythia8mc==8.317.2"
        ) from error
    with captured_stdout():
        return pythia8mc.Pythia("", False)


def _read_settings(pythia: Any, settings: Sequence[str]) -> None:
    for setting in settings:
        if not isinstance(setting, str):
            raise ConfigError(f"a Pythia setting must be a string 'Key = value', got {setting!r}")
        with captured_stdout() as lines:
            accepted = pythia.readString(setting)
        if not accepted:
            raise ConfigError(f"Pythia rejected the setting {setting!r}: {_pythia_message(lines)}")


def check_settings(settings: Sequence[str]) -> None:
    """Raise ConfigError, quoting Pythia, if Pythia does not accept each of ``settings``.

    Cheap (no initialisation), so it runs before any shard is started.

    Example:
        >>> check_settings(["PartonLevel:MPI = off"])
        >>> check_settings(["PartonLevel:MPII = off"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        robusthep.errors.ConfigError: Pythia rejected the setting 'PartonLevel:MPII = off': ...
    """
    _read_settings(_new_pythia(), settings)


def make_pythia(settings: Sequence[str], seed: int) -> Any:
    """Return an initialised ``pythia8mc.Pythia`` for 13 TeV pp with ``settings`` and ``seed``.

    Arguments:
        settings: Pythia setting strings (``"Key = value"``), read after
            :data:`COLLIDER_SETTINGS`.
        seed: Pythia's random seed, 0 … 900 000 000.

    Returns:
        The initialised generator; ``pythia.next()`` makes the next event.

    Raises:
        ConfigError: when Pythia rejects a setting or fails to initialise; the message
            quotes what Pythia printed.

    Example:
        >>> make_pythia(["SoftQCD:bogus = on"], seed=1)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        robusthep.errors.ConfigError: Pythia rejected the setting 'SoftQCD:bogus = on': ...

    References:
        Bierlich et al., "A comprehensive guide to the physics and usage of PYTHIA 8.3",
        SciPost Phys. Codebases 8 (2022), arXiv:2203.11601.
    """
    if not 0 <= seed <= MAX_PYTHIA_SEED:
        raise ConfigError(f"Pythia seed {seed} is outside 0 … {MAX_PYTHIA_SEED}")
    pythia = _new_pythia()
    seeding = ("Random:setSeed = on", f"Random:seed = {seed}")
    _read_settings(pythia, (*COLLIDER_SETTINGS, *seeding, *settings))
    with captured_stdout() as lines:
        initialised = pythia.init()
    if not initialised:
        raise ConfigError(
            f"Pythia failed to initialise with settings {list(settings)!r}: "
            f"{_pythia_message(lines)}"
        )
    return pythia
