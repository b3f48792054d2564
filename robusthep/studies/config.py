"""Study configurations: pydantic models with a quick and a full size, filled from TOML."""

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict

from robusthep.errors import ConfigError

__all__ = ["StudyConfig", "load_config", "read_toml"]

C = TypeVar("C", bound="StudyConfig")


class StudyConfig(BaseModel):
    """The base of every study's configuration: unknown keys are an error, values are checked.

    ``cls()`` is the full size; ``cls.quick()`` the demo size (minutes on one core).

    Example:
        >>> class Toy(StudyConfig):
        ...     epochs: int = 100
        >>> Toy.quick().epochs
        100
        >>> Toy.model_fields["epochs"].default
        100
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def quick(cls) -> Self:
        """The demo size; subclasses override it with smaller settings."""
        return cls()


def _merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _valid_keys(model: type[BaseModel], location: tuple[Any, ...]) -> list[str]:
    for part in location[:-1]:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return sorted(model.model_fields)


def _config_error(
    cls: type[StudyConfig], error: pydantic.ValidationError, source: str
) -> ConfigError:
    unknown: dict[tuple[Any, ...], list[str]] = {}  # parent location → its unknown keys
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            unknown.setdefault(tuple(item["loc"][:-1]), []).append(where)
        else:
            lines.append(f"{where} = {item.get('input')!r}: {item['msg']}")
    for parent, keys in unknown.items():
        valid = ", ".join(_valid_keys(cls, (*parent, None)))
        named = ", ".join(repr(key) for key in keys)
        lines.insert(
            0, f"unknown key{'s' if len(keys) > 1 else ''} {named}; valid keys here: {valid}"
        )
    return ConfigError(f"invalid {cls.__name__} from {source}: " + "; ".join(lines))


def read_toml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a TOML file; a missing file or invalid TOML raises ``ConfigError``.

    Example:
        >>> read_toml("/nonexistent.toml")
        Traceback (most recent call last):
        ...
        robusthep.errors.ConfigError: config file /nonexistent.toml does not exist
    """
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ConfigError(f"config file {path} does not exist") from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"config file {path} is not valid TOML: {error}") from error


def load_config(
    cls: type[C],
    path: str | os.PathLike | None = None,
    *,
    quick: bool = False,
    overrides: Mapping[str, Any] | None = None,
) -> C:
    """A study's configuration: its quick or full defaults, updated by a TOML file and overrides.

    Tables in the file update the nested configurations key by key; keys the study does not
    know and values of the wrong type raise ``ConfigError`` naming the key and the valid ones.

    Arguments:
        cls: the configuration class.
        path: a TOML file, or None.
        quick: start from ``cls.quick()`` rather than ``cls()``.
        overrides: keys set last (e.g. ``{"seed": 3}`` from the command line).

    Returns:
        The validated configuration.

    Example:
        >>> class Toy(StudyConfig):
        ...     seed: int = 0
        ...     epochs: int = 100
        >>> load_config(Toy, overrides={"seed": 3})
        Toy(seed=3, epochs=100)
        >>> load_config(Toy, overrides={"epoch": 3})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        robusthep.errors.ConfigError: invalid Toy from overrides: unknown key 'epoch'; valid ...
    """
    base = (cls.quick() if quick else cls()).model_dump()
    source = "overrides"
    if path is not None:
        source = str(path)
        base = _merge(base, read_toml(path))
    if overrides:
        base = _merge(base, overrides)
    try:
        return cls.model_validate(base)
    except pydantic.ValidationError as error:
        raise _config_error(cls, error, source) from None
