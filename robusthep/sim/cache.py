"""The generation cache: folders keyed by a hash of the settings, and resumable shards."""

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from robusthep.atomic import atomic_write_bytes
from robusthep.data.dataset import columns_from_parquet, columns_to_parquet
from robusthep.errors import ConfigError, DataError

__all__ = ["ShardStore", "cache_root", "ensure_writable", "settings_key"]


def settings_key(settings: Mapping[str, Any]) -> str:
    """A 16-hex-digit hash of JSON-serialisable settings, independent of key order.

    Example:
        >>> settings_key({"a": 1, "b": [2]}) == settings_key({"b": [2], "a": 1})
        True
        >>> len(settings_key({"a": 1}))
        16
    """
    text = json.dumps(dict(settings), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_root() -> Path:
    """The folder of generated datasets: ``$ROBUSTHEP_CACHE``, else ``~/.cache/robusthep``."""
    return Path(os.environ.get("ROBUSTHEP_CACHE", Path.home() / ".cache" / "robusthep"))


def ensure_writable(folder: Path) -> None:
    """Create ``folder`` if needed and check that files can be written in it.

    Raises:
        ConfigError: naming the folder, when it cannot be created or written to.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as error:
        raise ConfigError(
            f"cannot write in {folder} ({error.strerror or error}); choose another --output "
            "or set ROBUSTHEP_CACHE to a writable folder"
        ) from error


class ShardStore:
    """A folder of finished shards, each one Parquet file written atomically.

    A killed run leaves its finished shards here; the next run with the same settings
    loads them instead of generating them again. A shard that cannot be read (truncated,
    corrupt) is deleted and counts as missing.

    Arguments:
        folder: where the shards live.

    Example:
        >>> import numpy as np
        >>> store = ShardStore(Path(tempfile.mkdtemp()))
        >>> store.load("a") is None
        True
        >>> _ = store.save("a", {"x": np.ones(2)}, {"generated": 5})
        >>> columns, info = store.load("a")
        >>> columns["x"].tolist(), info
        ([1.0, 1.0], {'generated': 5})
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, name: str) -> Path:
        """Where the shard ``name`` is stored."""
        return self.folder / f"{name}.parquet"

    def save(self, name: str, columns: Mapping[str, Any], info: Mapping[str, Any]) -> Path:
        """Write a shard atomically: its columns and a JSON-serialisable ``info``."""
        return self.save_bytes(name, columns_to_parquet(columns, info))

    def save_bytes(self, name: str, parquet: bytes) -> Path:
        """Write a shard already serialised by ``columns_to_parquet``, atomically."""
        return atomic_write_bytes(self.path(name), parquet)

    def load(self, name: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The shard's (columns, info), or None when it is missing or unreadable."""
        path = self.path(name)
        if not path.is_file():
            return None
        try:
            return columns_from_parquet(path)
        except DataError:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return None
