"""Training checkpoints: one file a run, written atomically, read without unpickling."""

import hashlib
import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from robusthep.atomic import atomic_write_bytes
from robusthep.errors import ConfigError, ModelFileError

__all__ = ["CHECKPOINT_NAME", "fingerprint", "read_checkpoint", "write_checkpoint"]

CHECKPOINT_NAME = "checkpoint.pt"
_FORMAT = 1


def fingerprint(config: Mapping[str, Any], model: nn.Module) -> str:
    """Hash what makes a run the run it is: its settings and its model's tensors.

    Arguments:
        config: JSON-serialisable settings (seed, batch size, optimizer name, data shapes …).
        model: the module; its class name and every state entry's name, shape and dtype
            enter the hash, not the values.

    Returns:
        A 16-character hexadecimal digest.

    Example:
        >>> model = nn.Linear(2, 1)
        >>> same = fingerprint({"seed": 0}, model) == fingerprint({"seed": 0}, nn.Linear(2, 1))
        >>> other = fingerprint({"seed": 0}, model) == fingerprint({"seed": 1}, model)
        >>> same, other
        (True, False)
    """
    tensors = [
        (name, list(value.shape), str(value.dtype)) for name, value in model.state_dict().items()
    ]
    text = json.dumps(
        {"config": config, "model": type(model).__qualname__, "tensors": tensors},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def write_checkpoint(folder: str | os.PathLike, state: Mapping[str, Any]) -> Path:
    """Write ``state`` to ``folder/checkpoint.pt`` atomically: a kill leaves the old one intact.

    Arguments:
        folder: the run's checkpoint folder, created if missing.
        state: tensors, numbers, strings, lists, tuples, dicts and None only, so that
            :func:`read_checkpoint` can load it with ``weights_only=True``.

    Returns:
        The path written.
    """
    buffer = io.BytesIO()
    torch.save({"format": _FORMAT, **state}, buffer)
    return atomic_write_bytes(Path(folder) / CHECKPOINT_NAME, buffer.getvalue())


def read_checkpoint(folder: str | os.PathLike, expected_fingerprint: str) -> dict[str, Any] | None:
    """Read the checkpoint in ``folder`` if there is one, refusing one of another run.

    Arguments:
        folder: the run's checkpoint folder.
        expected_fingerprint: the :func:`fingerprint` of the run that wants to resume.

    Returns:
        The state written by :func:`write_checkpoint` (tensors on the CPU), or None when the
        folder holds no checkpoint.

    Raises:
        ConfigError: the checkpoint belongs to a run with other settings or another model.
        ModelFileError: the file cannot be read (truncated, not a checkpoint, newer format).
    """
    path = Path(folder) / CHECKPOINT_NAME
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several kinds for a damaged file
        # Not torch's message: it suggests weights_only=False, which would run pickled code.
        raise ModelFileError(
            f"cannot read the checkpoint {path} ({type(error).__name__}): it is damaged or was "
            "not written by robusthep.train.fit; delete it or pass resume=False"
        ) from error
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise ModelFileError(
            f"{path} is not a robusthep checkpoint of format {_FORMAT} (found {found!r}); "
            "delete it or pass resume=False"
        )
    if state.get("fingerprint") != expected_fingerprint:
        raise ConfigError(
            f"the checkpoint in {Path(folder)} belongs to another run (other settings, data "
            f"shapes or model: fingerprint {state.get('fingerprint')} != "
            f"{expected_fingerprint}); use another checkpoint_dir, or pass resume=False to "
            "start afresh and overwrite it"
        )
    return state
