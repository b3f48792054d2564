"""Resumable work for studies: each finished item's result kept as a JSON file, by key."""

import contextlib
import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from robusthep.atomic import atomic_write_text
from robusthep.parallel import Executor
from robusthep.progress import progress_bar

__all__ = ["ResultStore", "digest"]

Item = TypeVar("Item")


def digest(*parts: Any) -> str:
    """A 32-character SHA-256 digest of JSON-serialisable ``parts`` (bytes hashed as they are).

    Example:
        >>> digest("a", 1) == digest("a", 1), digest("a", 1) == digest("a", 2)
        (True, False)
    """
    hasher = hashlib.sha256()
    for part in parts:
        if isinstance(part, bytes | bytearray | memoryview):
            hasher.update(b"b")
            hasher.update(bytes(part))
        else:
            hasher.update(b"j")
            hasher.update(json.dumps(part, sort_keys=True, default=str).encode())
        hasher.update(b"\0")
    return hasher.hexdigest()[:32]


class ResultStore:
    """A folder of finished results, one JSON file each, named by a key of what made it.

    :meth:`map` runs only the items whose key has no stored result and stores each result
    as it arrives (atomically, in this process), so a killed run started again with the same
    inputs continues where it stopped and ends with the same numbers. The key must hash
    everything the result depends on (see :func:`digest`); a file that cannot be read, or
    holds another key, counts as missing. Results must survive a JSON round trip (floats,
    NaN included, bools, strings, lists, dicts).

    Arguments:
        folder: where the results live; created when the first one is stored.

    Example:
        >>> import tempfile
        >>> store = ResultStore(Path(tempfile.mkdtemp()) / "done")
        >>> square = lambda x: {"y": x * x}
        >>> store.map(Executor("local", workers=1), square, [2, 3], keys=["two", "three"])
        [{'y': 4}, {'y': 9}]
        >>> store.map(Executor("local", workers=1), None, [2, 3], keys=["two", "three"])
        [{'y': 4}, {'y': 9}]
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def path(self, key: str) -> Path:
        """The file of ``key``'s result."""
        return self.folder / f"{key}.json"

    def load(self, key: str) -> Any | None:
        """The result stored under ``key``, or None (missing, unreadable, another key's)."""
        path = self.path(key)
        try:
            stored = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return None
        if not isinstance(stored, dict) or stored.get("key") != key:
            return None
        return stored["result"]

    def save(self, key: str, result: Any) -> Path:
        """Store ``result`` under ``key`` atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        return atomic_write_text(self.path(key), json.dumps({"key": key, "result": result}))

    def map(
        self,
        executor: Executor,
        fn: Callable[[Item], Any] | None,
        items: Sequence[Item],
        *,
        keys: Sequence[str],
        sizes: Sequence[int] | None = None,
        progress: bool = False,
        description: str = "work",
    ) -> list[Any]:
        """``[fn(item) for item in items]``, each result read back when already stored.

        Arguments:
            executor: runs the items still to do.
            fn: a picklable function of one item (None only when every result is stored).
            items: the work.
            keys: one key per item.
            sizes: each item's size for the progress bar (default 1 each).
            progress: show a rich progress bar on a terminal (stored items count as done).
            description: the bar's label.

        Returns:
            The results in the order of ``items``, as a JSON round trip gives them.
        """
        sizes = [1] * len(items) if sizes is None else list(sizes)
        if not len(keys) == len(sizes) == len(items):
            raise ValueError(f"{len(items)} items but {len(keys)} keys and {len(sizes)} sizes")
        results = [self.load(key) for key in keys]
        todo = [index for index, result in enumerate(results) if result is None]
        if todo and fn is None:
            raise ValueError(f"{len(todo)} results are not stored and no fn computes them")
        with progress_bar(progress) as bar:
            job = bar.add_task(description, total=sum(sizes))
            bar.update(job, completed=sum(sizes) - sum(sizes[index] for index in todo))

            def done(position: int, result: Any) -> None:
                index = todo[position]
                self.save(keys[index], result)  # at once: a stopped run keeps it
                results[index] = json.loads(json.dumps(result))  # as a resumed run reads it
                bar.advance(job, sizes[index])

            if todo:
                executor.map(fn, [items[index] for index in todo], on_done=done)
        return results

    def stored(self) -> int:
        """How many results the folder holds."""
        return len(list(self.folder.glob("*.json"))) if self.folder.is_dir() else 0

    def clear(self) -> None:
        """Delete the folder and every result in it."""
        shutil.rmtree(self.folder, ignore_errors=True)
