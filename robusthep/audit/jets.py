"""Jets as tagger inputs: padded constituent tensors with a mask, high-level features, and
the jet pT and mass recomputed (differentiably) from the constituents."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np
import torch

from robusthep.errors import ConfigError, DataError

__all__ = ["JetInputs", "jet_inputs", "jet_pt_mass", "toy_jets"]


@dataclass(frozen=True)
class JetInputs:
    """The jets of a table in the forms the taggers take.

    Attributes:
        constituents: (jets, constituents, 3): log(pT / GeV), Δη, Δφ to the jet axis, the
            hardest first, zero-padded.
        mask: (jets, constituents), True for real constituents.
        high_level: (jets, 5): log(jet pT / GeV), log(jet mass / GeV), jet η, D2, τ21.
        labels: (jets,) 1 signal (W), 0 background (QCD), float32.
    """

    constituents: torch.Tensor
    mask: torch.Tensor
    high_level: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: Any) -> "JetInputs":
        """The jets ``index`` selects (a slice, boolean mask or integer tensor)."""
        return JetInputs(
            self.constituents[index], self.mask[index], self.high_level[index], self.labels[index]
        )


def _check_finite(name: str, values: np.ndarray) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        raise DataError(
            f"column {name!r} holds {int(bad.sum())} NaN or infinite values (the first in jet "
            f"{int(np.argwhere(bad)[0][0])}); drop those jets before building tagger inputs"
        )


def jet_inputs(columns: Mapping[str, Any], *, max_constituents: int = 50) -> JetInputs:
    """Tagger inputs from a ``wjets`` table (its dict of columns).

    Arguments:
        columns: ``constituent_pt/deta/dphi`` (awkward lists, hardest first), ``jet_pt``,
            ``jet_mass``, ``jet_eta``, ``jet_d2``, ``jet_tau21`` and ``label``.
        max_constituents: keep the hardest this many constituents per jet.

    Returns:
        A :class:`JetInputs`.

    Raises:
        DataError: a missing column, NaN or infinite values, a constituent with pT ≤ 0, a
            jet with no constituents or a jet mass ≤ 0 (its logarithm is the input).

    Example:
        >>> columns = {"constituent_pt": ak.Array([[100.0, 50.0], [80.0]]),
        ...            "constituent_deta": ak.Array([[0.1, -0.2], [0.0]]),
        ...            "constituent_dphi": ak.Array([[0.0, 0.3], [0.1]]),
        ...            "jet_pt": [140.0, 80.0], "jet_mass": [30.0, 1.0], "jet_eta": [0.5, -1.0],
        ...            "jet_d2": [1.2, 3.0], "jet_tau21": [0.3, 0.8], "label": [1, 0]}
        >>> inputs = jet_inputs(columns, max_constituents=3)
        >>> inputs.constituents.shape, inputs.mask.tolist()
        (torch.Size([2, 3, 3]), [[True, True, False], [True, False, False]])
    """
    if max_constituents < 1:
        raise ConfigError(f"max_constituents must be ≥ 1, got {max_constituents}")
    needed = [f"constituent_{n}" for n in ("pt", "deta", "dphi")]
    needed += ["jet_pt", "jet_mass", "jet_eta", "jet_d2", "jet_tau21", "label"]
    missing = [name for name in needed if name not in columns]
    if missing:
        raise DataError(f"the table lacks the columns {missing}; a wjets table has them")
    padded = []
    for name in ("pt", "deta", "dphi"):
        values = ak.Array(columns[f"constituent_{name}"])[:, :max_constituents]
        flat = ak.to_numpy(ak.flatten(values)).astype(np.float64)
        _check_finite(f"constituent_{name}", flat)
        if name == "pt" and (flat <= 0).any():
            raise DataError("constituent_pt holds values ≤ 0; its logarithm is a tagger input")
        filled = ak.fill_none(ak.pad_none(values, max_constituents, clip=True), np.nan)
        padded.append(ak.to_numpy(filled).astype(np.float64))
    pt, deta, dphi = padded
    mask = np.isfinite(pt)
    if not mask[:, 0].all():
        raise DataError(
            f"{int((~mask[:, 0]).sum())} jets have no constituents (the first is jet "
            f"{int(np.argmax(~mask[:, 0]))}); drop them"
        )
    log_pt = np.log(np.where(mask, pt, 1.0))
    constituents = np.stack([log_pt, np.where(mask, deta, 0), np.where(mask, dphi, 0)], -1)
    jet = {}
    for name in ("jet_pt", "jet_mass", "jet_eta", "jet_d2", "jet_tau21", "label"):
        jet[name] = np.asarray(columns[name], dtype=np.float64)
        _check_finite(name, jet[name])
    for name in ("jet_pt", "jet_mass"):
        if (jet[name] <= 0).any():
            raise DataError(f"{name} holds values ≤ 0; its logarithm is a tagger input")
    high_level = np.stack(
        [
            np.log(jet["jet_pt"]),
            np.log(jet["jet_mass"]),
            jet["jet_eta"],
            jet["jet_d2"],
            jet["jet_tau21"],
        ],
        -1,
    )
    return JetInputs(
        constituents=torch.as_tensor(constituents, dtype=torch.float32),
        mask=torch.as_tensor(mask),
        high_level=torch.as_tensor(high_level, dtype=torch.float32),
        labels=torch.as_tensor(jet["label"], dtype=torch.float32),
    )


def jet_pt_mass(
    constituents: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Jet pT and mass (GeV) from (log pT, Δη, Δφ) constituents, treated as massless.

    pμ = pT (cos Δφ, sin Δφ, sinh Δη, cosh Δη), summed over the real constituents. Mass and
    pT are invariant under the boost along z and the rotation in φ that take the jet axis
    to (0, 0), so relative coordinates give the laboratory values. Differentiable.

    Arguments:
        constituents: (jets, constituents, 3) as in :class:`JetInputs`.
        mask: (jets, constituents), True for real constituents.

    Returns:
        ``(pt, mass)``, each (jets,).

    Example:
        >>> x = torch.tensor([[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])  # two 1 GeV, collinear
        >>> pt, mass = jet_pt_mass(x, torch.tensor([[True, True]]))
        >>> pt.item(), mass.item()
        (2.0, 0.0)
    """
    if (
        constituents.ndim != 3
        or constituents.shape[-1] != 3
        or mask.shape != constituents.shape[:2]
    ):
        raise DataError(
            f"constituents must be (jets, constituents, 3) and mask (jets, constituents), got "
            f"{tuple(constituents.shape)} and {tuple(mask.shape)}"
        )
    real = mask.to(constituents.dtype)
    pt = torch.exp(constituents[..., 0]) * real
    deta, dphi = constituents[..., 1], constituents[..., 2]
    px = (pt * torch.cos(dphi)).sum(-1)
    py = (pt * torch.sin(dphi)).sum(-1)
    pz = (pt * torch.sinh(deta)).sum(-1)
    energy = (pt * torch.cosh(deta)).sum(-1)
    mass_squared = energy**2 - px**2 - py**2 - pz**2
    # Clamped below so that a massless jet has a finite gradient; its mass reads 0.
    massive = (mass_squared > 1e-12).to(constituents.dtype)
    return torch.hypot(px, py), torch.sqrt(torch.clamp(mass_squared, min=1e-12)) * massive


def toy_jets(jets: int, *, max_constituents: int = 20, seed: int = 0) -> JetInputs:
    """Toy jets for tests and examples: two-prong "W" jets (label 1) and one-prong "QCD" jets.

    Each jet has 5 … ``max_constituents`` massless constituents around one axis (background)
    or two axes ΔR ≈ 2·80 GeV / pT apart (signal), pT from 250 to 1000 GeV shared by
    exponential fractions; the high-level features are computed from the constituents
    (D2 and τ21 are stand-ins: the prong separation and a noisy prong count).

    Example:
        >>> jets = toy_jets(10, seed=1)
        >>> jets.constituents.shape, int(jets.mask.sum(1).min()) >= 5
        (torch.Size([10, 20, 3]), True)
    """
    if jets < 2 or max_constituents < 5:
        raise ConfigError(
            f"toy_jets needs ≥ 2 jets and max_constituents ≥ 5, got {jets}, {max_constituents}"
        )
    generator = np.random.default_rng(seed)
    labels = (np.arange(jets) % 2).astype(np.float64)
    jet_pt = generator.uniform(250, 1000, jets)
    counts = generator.integers(5, max_constituents + 1, jets)
    separation = np.where(labels == 1, 160.0 / jet_pt, 0.0)
    mask = np.arange(max_constituents)[None, :] < counts[:, None]
    fractions = generator.exponential(1.0, (jets, max_constituents)) * mask
    fractions /= fractions.sum(1, keepdims=True)
    prong = generator.random((jets, max_constituents)) < 0.5
    angle = generator.uniform(0, 2 * np.pi, jets)[:, None]
    offset = np.where(prong, 0.5, -0.5) * separation[:, None]
    deta = offset * np.cos(angle) + generator.normal(0, 0.03, (jets, max_constituents))
    dphi = offset * np.sin(angle) + generator.normal(0, 0.03, (jets, max_constituents))
    constituents = (
        np.stack([np.log(np.maximum(fractions * jet_pt[:, None], 1e-3)), deta, dphi], -1)
        * mask[..., None]
    )
    x = torch.as_tensor(constituents, dtype=torch.float32)
    m = torch.as_tensor(mask)
    pt, mass = jet_pt_mass(x.double(), m)
    high_level = torch.stack(
        [
            torch.log(pt),
            torch.log(mass.clamp(min=1.0)),
            torch.as_tensor(generator.uniform(-2, 2, jets)),
            torch.as_tensor(separation + generator.normal(0, 0.05, jets)),
            torch.as_tensor(1 - 0.5 * labels + generator.normal(0, 0.2, jets)),
        ],
        -1,
    ).float()
    return JetInputs(x, m, high_level, torch.as_tensor(labels, dtype=torch.float32))
