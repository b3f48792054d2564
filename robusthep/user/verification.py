"""Re-checking the guarantees of a trained model, saved and exported: :func:`verify_model`."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from robusthep.audit import VerificationReport, verify
from robusthep.data.table import Table
from robusthep.nn import lipschitz_bound
from robusthep.user.model_folder import ModelFolder

__all__ = ["ModelCheck", "verify_model"]

# Relative agreement asked of the ONNX export and the torch model (float32 rounding).
_AGREEMENT = 1e-4
_BOUND_SLACK = 1e-6


@dataclass(frozen=True)
class ModelCheck:
    """What :func:`verify_model` found.

    Attributes:
        increasing: the features claimed non-decreasing.
        decreasing: the features claimed non-increasing.
        lipschitz_recorded: the certified ℓ1→ℓ∞ bound recorded at training, raw units.
        lipschitz_recomputed: the same bound recomputed from the saved weights.
        max_difference: the largest |torch − ONNX| output difference on the checked inputs.
        audits: per form (``"saved"``, ``"onnx"``), the audit's report as a dict.
        points: the inputs the audits started from.
    """

    increasing: list[str]
    decreasing: list[str]
    lipschitz_recorded: float
    lipschitz_recomputed: float
    max_difference: float
    audits: dict[str, dict[str, Any]]
    points: int

    @property
    def problems(self) -> list[str]:
        """Each broken guarantee, in words; empty when all hold."""
        found = []
        if self.lipschitz_recomputed > self.lipschitz_recorded * (1 + _BOUND_SLACK):
            found.append(
                f"the certified bound recomputed from the weights, {self.lipschitz_recomputed:g}, "
                f"exceeds the recorded {self.lipschitz_recorded:g}"
            )
        if not self.max_difference <= _AGREEMENT:
            found.append(
                f"the ONNX export differs from the saved model by up to {self.max_difference:g}"
            )
        for form, audit in self.audits.items():
            for feature, count in audit["monotonic_violations"].items():
                if count:
                    found.append(f"{form}: {count} monotonicity violations in {feature!r}")
            if audit["lipschitz_violations"]:
                found.append(
                    f"{form}: {audit['lipschitz_violations']} pairs break the Lipschitz bound "
                    f"(largest ratio {audit['max_lipschitz_ratio']:g})"
                )
        return found

    @property
    def passed(self) -> bool:
        """Whether every guarantee held."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary."""
        return {
            "passed": self.passed,
            "problems": self.problems,
            "increasing": self.increasing,
            "decreasing": self.decreasing,
            "lipschitz_recorded": self.lipschitz_recorded,
            "lipschitz_recomputed": self.lipschitz_recomputed,
            "max_difference": self.max_difference,
            "points": self.points,
            "audits": self.audits,
        }


def verify_model(
    model_dir: str | os.PathLike | ModelFolder,
    data: str | os.PathLike | Table | Mapping[str, Any] | np.ndarray | None = None,
    *,
    tree: str | None = None,
    points: int = 1024,
    pairs: int | None = None,
    steps: int | None = None,
    seed: int = 0,
) -> ModelCheck:
    """Re-check the guarantees of a trained model on the saved model and on its ONNX export.

    Loading checks the weights' checksum and recomputes the certified Lipschitz bound from
    them; then the saved model and the ONNX graph (which needs nothing of robusthep) are
    compared on the inputs and each is audited by :func:`robusthep.audit.verify`: random
    pairs, grid scans and an adversarial search for steps against a monotonic feature's
    sign and for pairs whose output changes faster than the certified bound allows.

    Arguments:
        model_dir: a folder written by :func:`~robusthep.user.train_model`.
        data: inputs to start the searches from (a file, table, mapping or (N, features)
            matrix);
            by default ``points`` uniform points in the box of the training data.
        tree: the TTree of a ROOT file holding several.
        points: the number of uniform points when ``data`` is None.
        pairs: random pairs per check (default: the training configuration's).
        steps: adversarial steps (default: the training configuration's).
        seed: the seed of the searches.

    Returns:
        A :class:`ModelCheck`; ``passed`` says whether every guarantee held.

    Example:
        >>> import tempfile, numpy as np
        >>> from robusthep.user import TrainConfig, train_model
        >>> rng = np.random.default_rng(0)
        >>> table = {"pt": rng.normal(size=200), "eta": rng.normal(size=200),
        ...          "label": (rng.random(200) < 0.5) * 1.0}
        >>> config = TrainConfig.create(target="label", features=["pt", "eta"], hidden=(8,),
        ...                             increasing=["pt"], epochs=2, audit_pairs=16,
        ...                             audit_steps=1)
        >>> model = train_model(table, config, tempfile.mkdtemp(), report=False)
        >>> check = verify_model(model.path, pairs=64, steps=2)
        >>> check.passed, check.increasing, check.audits["onnx"]["violations"]
        (True, ['pt'], 0)

    References:
        Kitouni, Nolte, Williams, "Expressive Monotonic Neural Networks", ICLR 2023,
        arXiv:2307.07512.
    """
    folder = model_dir if isinstance(model_dir, ModelFolder) else ModelFolder(model_dir)
    meta = folder.metadata
    if data is None:
        low, high = (np.asarray(meta["domain"][key], dtype=np.float64) for key in ("low", "high"))
        generator = np.random.default_rng(seed)
        inputs = low + (high - low) * generator.random((points, len(low)))
    elif isinstance(data, np.ndarray):
        inputs = np.asarray(data, dtype=np.float64)
    else:
        inputs = folder.inputs(data, tree=tree)
    x = torch.as_tensor(inputs, dtype=torch.float32)
    saved = folder.outputs(inputs)
    exported = folder.onnx_model(x).reshape(-1).double().numpy()
    difference = float(np.max(np.abs(saved - exported) / (1 + np.abs(saved)), initial=0.0))
    recorded = float(meta["lipschitz"])
    recomputed = lipschitz_bound(folder.model, input_norm="one", output_norm="inf")
    settings = meta.get("config", {})
    options = {
        "increasing": list(meta["increasing"]),
        "decreasing": list(meta["decreasing"]),
        "feature_names": folder.features,
        "lipschitz": recorded,
        "input_norm": "one",
        "pairs": pairs or settings.get("audit_pairs", 1024),
        "steps": settings.get("audit_steps", 20) if steps is None else steps,
        "seed": seed,
    }
    audits: dict[str, VerificationReport] = {
        "saved": verify(folder.model, x, **options),
        "onnx": verify(folder.onnx_model, x, **options),
    }
    return ModelCheck(
        increasing=list(meta["increasing"]),
        decreasing=list(meta["decreasing"]),
        lipschitz_recorded=recorded,
        lipschitz_recomputed=float(recomputed),
        max_difference=difference,
        audits={form: report.to_dict() for form, report in audits.items()},
        points=len(inputs),
    )
