"""What the generation cache holds, and removing it: :func:`cache_entries`."""

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from robusthep.sim.cache import cache_root

__all__ = ["CacheEntry", "cache_entries", "folder_size"]


@dataclass(frozen=True)
class CacheEntry:
    """One folder of the cache: a dataset, or the shards of an unfinished generation.

    Attributes:
        path: the folder.
        bytes: its size on disk.
        events: the dataset's number of events (None for shards or an unreadable meta.json).
        complete: whether it is a finished dataset (has ``meta.json``).
    """

    path: Path
    bytes: int
    events: int | None
    complete: bool

    @property
    def name(self) -> str:
        """The folder's name, e.g. ``wjets-7a25a934b9f7cda8``."""
        return self.path.name

    def remove(self) -> None:
        """Delete the folder and everything in it."""
        shutil.rmtree(self.path)


def folder_size(path: str | os.PathLike) -> int:
    """The bytes of all files under ``path`` (0 if it does not exist).

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "a").write_bytes(b"123")
        >>> folder_size(folder), folder_size(folder / "missing")
        (3, 0)
    """
    path = Path(path)
    if not path.exists():
        return 0
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def cache_entries(root: str | os.PathLike | None = None) -> list[CacheEntry]:
    """The folders in the cache, sorted by name.

    Arguments:
        root: the cache folder; by default :func:`~robusthep.sim.cache.cache_root`
            (``$ROBUSTHEP_CACHE`` or ``~/.cache/robusthep``).

    Returns:
        One :class:`CacheEntry` a folder; none when the cache does not exist.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> (root / "higgs-0123").mkdir()
        >>> _ = (root / "higgs-0123" / "meta.json").write_text('{"n_events": 12}')
        >>> [(e.name, e.events, e.complete) for e in cache_entries(root)]
        [('higgs-0123', 12, True)]
    """
    root = Path(root) if root is not None else cache_root()
    if not root.is_dir():
        return []
    entries = []
    for folder in sorted(root.iterdir()):
        if not folder.is_dir():
            continue
        meta = folder / "meta.json"
        events = None
        if meta.is_file():
            try:
                events = int(json.loads(meta.read_text())["n_events"])
            except (OSError, ValueError, KeyError, TypeError):
                events = None
        entries.append(CacheEntry(folder, folder_size(folder), events, meta.is_file()))
    return entries
