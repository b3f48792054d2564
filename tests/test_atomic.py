"""Atomic writes."""

import os

from robusthep.atomic import atomic_directory, atomic_write_text


def test_atomic_files_get_the_usual_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "a.txt", "x")
        with atomic_directory(tmp_path / "d") as folder:
            (folder / "f").write_text("y")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755


def test_a_failed_block_leaves_no_folder(tmp_path):
    try:
        with atomic_directory(tmp_path / "d") as folder:
            (folder / "f").write_text("half")
            raise RuntimeError("killed")
    except RuntimeError:
        pass
    assert list(tmp_path.iterdir()) == []
