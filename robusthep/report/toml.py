"""A small TOML writer for configs: nested tables of strings, numbers, booleans and lists."""

import json
import math
from collections.abc import Mapping
from typing import Any

from robusthep.errors import ConfigError

__all__ = ["dumps_toml"]


def dumps_toml(mapping: Mapping[str, Any]) -> str:
    """Write a mapping as TOML that ``tomllib.loads`` reads back to the same mapping.

    Values may be strings, booleans, finite numbers, lists of those, and nested mappings
    (written as tables). ``None`` values are left out, since TOML has no null.

    Arguments:
        mapping: the configuration, e.g. ``model.model_dump(mode="json")``.

    Returns:
        The TOML text.

    Example:
        >>> import tomllib
        >>> config = {"seed": 1, "name": "toys", "moons": {"noise": 0.1, "hidden": [16, 16]}}
        >>> print(dumps_toml(config), end="")
        seed = 1
        name = "toys"
        <BLANKLINE>
        [moons]
        noise = 0.1
        hidden = [16, 16]
        >>> tomllib.loads(dumps_toml(config)) == config
        True
    """
    return "\n".join(_table(mapping, prefix=())) + "\n"


def _table(mapping: Mapping[str, Any], prefix: tuple[str, ...]) -> list[str]:
    lines: list[str] = []
    tables: list[tuple[str, Mapping[str, Any]]] = []
    for key, value in mapping.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            tables.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value, '.'.join((*prefix, key)))}")
    for key, value in tables:
        name = ".".join(_key(part) for part in (*prefix, key))
        lines.extend(["", f"[{name}]", *_table(value, (*prefix, key))])
    return lines


def _key(key: str) -> str:
    bare = key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key)
    return key if bare else json.dumps(key)


def _value(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"config key {where!r} is {value}; TOML configs take finite numbers")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item, where) for item in value) + "]"
    raise ConfigError(
        f"config key {where!r} holds a {type(value).__name__}; TOML configs take strings, "
        "numbers, booleans, lists and tables"
    )
