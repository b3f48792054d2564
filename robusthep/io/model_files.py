"""Saving and loading models as safetensors weights + a JSON description; no pickle."""

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from torch import nn

from robusthep.atomic import atomic_directory
from robusthep.errors import ConfigError, ConstraintError, ModelFileError
from robusthep.nn import (
    NORMS,
    GroupSort,
    LipschitzLinear,
    LipschitzSequential,
    MonotonicWrapper,
    Standardize,
    lipschitz_bound,
)

__all__ = ["FORMAT_VERSION", "load_model", "save_model"]

#: The version of the on-disk format this robusthep writes and the newest it reads.
FORMAT_VERSION = 1
_JSON = "model.json"
_WEIGHTS = "model.safetensors"

# Modules without tensors, described by their constructor arguments.
_STATELESS: dict[str, tuple[type[nn.Module], tuple[str, ...]]] = {
    "GroupSort": (GroupSort, ("group_size",)),
    "Identity": (nn.Identity, ()),
    "ReLU": (nn.ReLU, ()),
    "Tanh": (nn.Tanh, ()),
    "Sigmoid": (nn.Sigmoid, ()),
    "Softplus": (nn.Softplus, ("beta", "threshold")),
    "LeakyReLU": (nn.LeakyReLU, ("negative_slope",)),
    "ELU": (nn.ELU, ("alpha",)),
    "Hardtanh": (nn.Hardtanh, ("min_val", "max_val")),
    "Dropout": (nn.Dropout, ("p",)),
}
_SUPPORTED = sorted(
    [
        *_STATELESS,
        "LipschitzLinear",
        "Linear",
        "Standardize",
        "LipschitzSequential",
        "Sequential",
        "MonotonicWrapper",
    ]
)


def _describe(module: nn.Module) -> dict[str, Any]:
    """The JSON description of a module: its type, arguments and children."""
    name = type(module).__name__
    if isinstance(module, LipschitzLinear):
        args = {
            "in_features": module.in_features,
            "out_features": module.out_features,
            "bias": module.bias is not None,
            "kind": module.kind,
            "lipschitz": module.lipschitz,
            "per_vector": module.per_vector,
        }
        return {"type": name, "args": args}
    if type(module) is nn.Linear:
        args = {
            "in_features": module.in_features,
            "out_features": module.out_features,
            "bias": module.bias is not None,
        }
        return {"type": name, "args": args, "frozen": not module.weight.requires_grad}
    if isinstance(module, Standardize):
        return {"type": name, "args": {"in_features": module.in_features}}
    if isinstance(module, MonotonicWrapper):
        args = {
            "increasing": module.increasing,
            "decreasing": module.decreasing,
            "feature_names": module.feature_names,
            "lipschitz": module.lipschitz,
            "in_features": module.in_features,
        }
        return {"type": name, "args": args, "children": {"model": _describe(module.model)}}
    if isinstance(module, LipschitzSequential):
        return {
            "type": name,
            "args": {"input_norm": module.input_norm},
            "layers": [_describe(child) for child in module],
        }
    if type(module) is nn.Sequential:
        return {"type": name, "args": {}, "layers": [_describe(child) for child in module]}
    if name in _STATELESS and type(module) is _STATELESS[name][0]:
        return {"type": name, "args": {a: getattr(module, a) for a in _STATELESS[name][1]}}
    raise ConfigError(
        f"cannot save a module of type {name}; savable types are {', '.join(_SUPPORTED)}"
    )


def _take(state: dict[str, torch.Tensor], prefix: str, module: nn.Module) -> None:
    """Load the tensors under ``prefix`` into a freshly built leaf module."""
    expected = module.state_dict()
    problems = []
    for key, tensor in expected.items():
        stored = state.pop(prefix + key, None)
        if stored is None:
            problems.append(f"missing tensor {prefix + key}")
        elif stored.shape != tensor.shape:
            problems.append(
                f"{prefix + key} has shape {tuple(stored.shape)} in the weights but "
                f"{tuple(tensor.shape)} in model.json"
            )
        else:
            expected[key] = stored
    if problems:
        raise ModelFileError("the weights disagree with model.json: " + "; ".join(problems))
    module.load_state_dict(expected)


def _build(spec: dict[str, Any], state: dict[str, torch.Tensor], prefix: str) -> nn.Module:
    try:
        kind, args = spec["type"], dict(spec.get("args", {}))
    except (KeyError, TypeError) as error:
        raise ModelFileError(
            f"malformed module description at {prefix or 'top'}: {spec!r}"
        ) from error
    if kind == "LipschitzLinear":
        in_f, out_f = args.pop("in_features"), args.pop("out_features")
        module: nn.Module = LipschitzLinear(in_f, out_f, **args)
    elif kind == "Linear":
        module = nn.Linear(args["in_features"], args["out_features"], bias=args["bias"])
    elif kind == "Standardize":
        n = args["in_features"]
        module = Standardize(mean=torch.zeros(n), scale=torch.ones(n))
    elif kind in ("LipschitzSequential", "Sequential"):
        layers = [
            _build(child, state, f"{prefix}{index}.")
            for index, child in enumerate(spec.get("layers", []))
        ]
        if kind == "Sequential":
            return nn.Sequential(*layers)
        return LipschitzSequential(*layers, input_norm=args["input_norm"])
    elif kind == "MonotonicWrapper":
        model = _build(spec["children"]["model"], state, f"{prefix}model.")
        module = MonotonicWrapper(model, **args)
        for key in ("signs", "linear_term"):
            state.pop(prefix + key, None)
        return module
    elif kind in _STATELESS:
        return _STATELESS[kind][0](**args)
    else:
        raise ModelFileError(
            f"unknown module type {kind!r} in model.json; known types are {', '.join(_SUPPORTED)}"
        )
    _take(state, prefix, module)
    if spec.get("frozen"):
        module.requires_grad_(False)
    return module


def _guarantees(model: nn.Module, in_features: int | None) -> dict[str, Any]:
    """Certified bounds of the model's current weights, for each input norm (output ℓ∞)."""
    bounds = {}
    for norm in NORMS:
        try:
            bound = lipschitz_bound(
                model,
                input_norm=norm,
                output_norm="inf",
                in_features=in_features,
                guaranteed=False,
            )
        except ConstraintError:
            return {}
        bounds[norm] = bound
    return {"lipschitz": {"output_norm": "inf", "bounds": bounds}}


def save_model(
    model: nn.Module,
    path: str | os.PathLike,
    *,
    feature_names: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Save ``model`` to the folder ``path``: ``model.safetensors`` + ``model.json``.

    The JSON holds the module tree (types and constructor arguments), the feature names, the
    guarantees (certified Lipschitz bounds per input norm, monotonic features) and a SHA-256
    of the weights file, which :func:`load_model` checks. The folder is written atomically.

    Arguments:
        model: a module built from robusthep's layers, ``nn.Linear``, ``nn.Sequential`` and
            common activations.
        path: the folder to write.
        feature_names: the names of the input features (a monotonic wrapper's are used
            when not given).
        metadata: any JSON-serialisable extras (training settings, metrics, …).
        overwrite: replace an existing folder.

    Returns:
        The folder written.

    Example:
        >>> import tempfile
        >>> from robusthep.nn import lipschitz_mlp
        >>> net = lipschitz_mlp(2, hidden=(4,))
        >>> folder = save_model(net, tempfile.mkdtemp() + "/net")
        >>> sorted(p.name for p in folder.iterdir())
        ['model.json', 'model.safetensors']
    """
    description = _describe(model)
    if feature_names is None and isinstance(model, MonotonicWrapper):
        feature_names = model.feature_names
    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    weights = save_tensors(state)
    in_features = len(feature_names) if feature_names else None
    guarantees = _guarantees(model, in_features)
    if isinstance(model, MonotonicWrapper):
        guarantees["monotonic"] = {
            "increasing": model.increasing,
            "decreasing": model.decreasing,
        }
    document = {
        "format": "robusthep.model",
        "format_version": FORMAT_VERSION,
        "robusthep_version": _version(),
        "module": description,
        "feature_names": list(feature_names) if feature_names is not None else None,
        "guarantees": guarantees,
        "weights": {
            "file": _WEIGHTS,
            "sha256": hashlib.sha256(weights).hexdigest(),
            "bytes": len(weights),
        },
        "metadata": metadata or {},
    }
    try:
        text = json.dumps(document, indent=2, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"metadata must be JSON-serialisable and finite: {error}") from error
    with atomic_directory(path, overwrite=overwrite) as folder:
        (folder / _WEIGHTS).write_bytes(weights)
        (folder / _JSON).write_text(text)
    return Path(path)


def load_model(path: str | os.PathLike) -> nn.Module:
    """Load a model saved by :func:`save_model`, in eval mode, without unpickling anything.

    The weights file is checked against the SHA-256 in ``model.json`` (a truncated or
    replaced file is an error), every tensor against the module tree, and the certified
    Lipschitz bounds are recomputed and compared with the stored ones.

    Arguments:
        path: the folder written by :func:`save_model`.

    Returns:
        The module. ``model.json``'s ``feature_names`` and ``metadata`` are attached as
        attributes ``robusthep_feature_names`` and ``robusthep_metadata``.

    Raises:
        ModelFileError: a missing, truncated, inconsistent or too-new model.

    Example:
        >>> import tempfile, torch
        >>> from robusthep.nn import lipschitz_mlp
        >>> net = lipschitz_mlp(2, hidden=(4,)).eval()
        >>> loaded = load_model(save_model(net, tempfile.mkdtemp() + "/net"))
        >>> x = torch.randn(3, 2)
        >>> bool(torch.equal(loaded(x), net(x)))
        True
    """
    folder = Path(path)
    document = _read_json(folder / _JSON)
    version = document.get("format_version")
    if document.get("format") != "robusthep.model" or not isinstance(version, int):
        raise ModelFileError(f"{folder / _JSON} is not a robusthep model description")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{folder} was written in model format version {version} (robusthep "
            f"{document.get('robusthep_version')}); this robusthep reads versions up to "
            f"{FORMAT_VERSION}: upgrade robusthep to load it"
        )
    weights_path = folder / document["weights"]["file"]
    try:
        weights = weights_path.read_bytes()
    except OSError as error:
        raise ModelFileError(f"cannot read the weights {weights_path}: {error}") from error
    if hashlib.sha256(weights).hexdigest() != document["weights"]["sha256"]:
        raise ModelFileError(
            f"{weights_path} ({len(weights)} bytes) does not match the checksum in model.json "
            f"({document['weights']['bytes']} bytes expected): the file is truncated, "
            "corrupt or from another model; save the model again"
        )
    try:
        state = dict(load_tensors(weights))
    except (SafetensorError, ValueError) as error:
        raise ModelFileError(f"cannot parse {weights_path}: {error}") from error
    try:
        model = _build(document["module"], state, "")
    except (ConfigError, ConstraintError, TypeError, KeyError) as error:
        raise ModelFileError(
            f"model.json in {folder} describes an invalid model: {error}"
        ) from error
    if state:
        raise ModelFileError(
            f"the weights hold tensors that model.json does not describe: {sorted(state)}"
        )
    _check_guarantees(model, document, folder)
    model.robusthep_feature_names = document.get("feature_names")
    model.robusthep_metadata = document.get("metadata", {})
    return model.eval()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as error:
        raise ModelFileError(f"no model description at {path}: is this a model folder?") from error
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelFileError(f"cannot read {path}: {error}") from error


def _check_guarantees(model: nn.Module, document: dict[str, Any], folder: Path) -> None:
    stored = document.get("guarantees", {}).get("lipschitz")
    if not stored:
        return
    names = document.get("feature_names")
    recomputed = _guarantees(model, len(names) if names else None).get("lipschitz", {})
    for norm, bound in stored["bounds"].items():
        again = recomputed.get("bounds", {}).get(norm, math.inf)
        if again > bound * (1 + 1e-6):
            raise ModelFileError(
                f"the loaded model's certified {norm}-norm Lipschitz bound {again:g} exceeds "
                f"the {bound:g} recorded in {folder / _JSON}"
            )


def _version() -> str:
    from robusthep import __version__

    return __version__
