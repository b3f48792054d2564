"""A Particle Flow Network (Deep Sets) on padded jet constituents, optionally Lipschitz."""

from collections.abc import Sequence

import torch
from torch import nn

from robusthep.errors import ConfigError, ConstraintError, DataError
from robusthep.nn.bound import lipschitz_bound
from robusthep.nn.mlp import lipschitz_mlp
from robusthep.nn.standardize import Standardize

__all__ = ["ParticleFlowNetwork"]


def _relu_mlp(in_features: int, hidden: Sequence[int], out_features: int) -> nn.Sequential:
    widths = [in_features, *hidden]
    layers: list[nn.Module] = []
    for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    layers.append(nn.Linear(widths[-1], out_features))
    return nn.Sequential(*layers)


class ParticleFlowNetwork(nn.Module):
    r"""f(J) = F(s · Σᵢ mᵢ Φ(xᵢ)): a per-constituent network Φ, a masked sum, a head F.

    ``x`` holds the constituents padded to a common length, shape (jets, constituents,
    features), and ``mask`` (jets, constituents) says which are real. Padded slots are set to
    zero before Φ and their Φ outputs multiplied by zero, so neither their values nor a NaN
    in them reaches the output, and the sum makes f invariant under any permutation of the
    constituents. The output is one logit per jet.

    With ``lipschitz=(λ_Φ, λ_F)`` both networks are Lipschitz MLPs in ℓ∞ (GroupSort,
    ``lipschitz_mlp(input_norm="inf")``) and the whole tagger has a provable bound: for a jet
    with n real constituents, changing every constituent's standardised features by at most
    δ (ℓ∞ over all constituents and features) moves the logit by at most
    λ_F · s · n · λ_Φ · δ, because ‖Σᵢ ΔΦᵢ‖∞ ≤ Σᵢ ‖ΔΦᵢ‖∞ (sum pooling: the bound grows with
    the multiplicity) and masked slots contribute nothing (the mask, not the padding length,
    sets n). See :meth:`lipschitz_bound`.

    Arguments:
        in_features: features per constituent.
        latent: the size of Φ's output (the sum's dimension).
        phi_hidden: hidden widths of Φ.
        head_hidden: hidden widths of F.
        lipschitz: None (plain ReLU networks) or (λ_Φ, λ_F), the ℓ∞ bounds of Φ and F.
        pool_scale: s, a fixed factor on the sum (e.g. 1 / the padded length), keeping the
            latent sum of order one; it is part of the bound.
        mean, scale: the standardisation of the constituent features (default 0 and 1).

    Example:
        >>> net = ParticleFlowNetwork(3, latent=8, phi_hidden=(16,), head_hidden=(16,))
        >>> x, mask = torch.randn(5, 7, 3), torch.rand(5, 7) > 0.3
        >>> net(x, mask).shape
        torch.Size([5, 1])
        >>> order = torch.randperm(7)
        >>> torch.allclose(net(x[:, order], mask[:, order]), net(x, mask), atol=1e-6)
        True

    References:
        Komiske, Metodiev, Thaler, "Energy Flow Networks: Deep Sets for Particle Jets",
        arXiv:1810.05165; Zaheer et al., "Deep Sets", arXiv:1703.06114.
    """

    def __init__(
        self,
        in_features: int = 3,
        *,
        latent: int = 32,
        phi_hidden: Sequence[int] = (64, 64),
        head_hidden: Sequence[int] = (64, 64),
        lipschitz: tuple[float, float] | None = None,
        pool_scale: float = 1.0,
        exp_features: Sequence[int] = (),
        mean: torch.Tensor | None = None,
        scale: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(in_features, int) or in_features < 1:
            raise ConfigError(f"in_features must be an integer ≥ 1, got {in_features!r}")
        if not (isinstance(pool_scale, int | float) and 0 < pool_scale < float("inf")):
            raise ConfigError(f"pool_scale must be a finite number > 0, got {pool_scale!r}")
        self.exp_features = tuple(int(k) for k in exp_features)
        if any(not 0 <= k < in_features for k in self.exp_features):
            raise ConfigError(
                f"exp_features {list(exp_features)} must index the {in_features} input features"
            )
        self.in_features = in_features
        self.pool_scale = float(pool_scale)
        width = in_features + len(self.exp_features)
        self.lipschitz = None if lipschitz is None else tuple(float(v) for v in lipschitz)
        self.standardize = Standardize(
            torch.zeros(width) if mean is None else mean,
            torch.ones(width) if scale is None else scale,
        )
        if lipschitz is None:
            self.phi = _relu_mlp(width, phi_hidden, latent)
            self.head = _relu_mlp(latent, head_hidden, 1)
        else:
            if len(lipschitz) != 2:
                raise ConfigError(f"lipschitz must be a pair (λ_Φ, λ_F), got {lipschitz!r}")
            phi_bound, head_bound = self.lipschitz
            self.phi = lipschitz_mlp(
                width, latent, hidden=phi_hidden, lipschitz=phi_bound, input_norm="inf"
            )
            self.head = lipschitz_mlp(
                latent, 1, hidden=head_hidden, lipschitz=head_bound, input_norm="inf"
            )

    def _check(self, x: torch.Tensor, mask: torch.Tensor) -> None:
        if x.ndim != 3 or x.shape[-1] != self.in_features:
            raise DataError(
                f"x must have shape (jets, constituents, {self.in_features}), got {tuple(x.shape)}"
            )
        if mask.shape != x.shape[:2]:
            raise DataError(
                f"mask must have shape {tuple(x.shape[:2])} (jets, constituents), got "
                f"{tuple(mask.shape)}"
            )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The per-constituent features Φ sees (before standardisation): x, then exp(xₖ) for
        each k of ``exp_features`` (e.g. pT itself beside log pT, which sums linearly)."""
        if not self.exp_features:
            return x
        return torch.cat([x, torch.exp(x[..., list(self.exp_features)])], dim=-1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        self._check(x, mask)
        real = mask.to(torch.bool).unsqueeze(-1)
        # where, not a product: 0·NaN is NaN, so a NaN in a padded slot must not reach Φ.
        inputs = torch.where(real, x, torch.zeros((), dtype=x.dtype, device=x.device))
        per_constituent = self.phi(self.standardize(self.features(inputs)))
        pooled = (per_constituent * real.to(per_constituent.dtype)).sum(dim=1)
        return self.head(self.pool_scale * pooled)

    def lipschitz_bound(
        self,
        mask: torch.Tensor,
        feature_widths: torch.Tensor | None = None,
        x: torch.Tensor | None = None,
    ) -> torch.Tensor:
        r"""Each jet's bound L with |Δf| ≤ L · max over real constituents and features of
        |Δxᵢₖ| / wₖ (wₖ = ``feature_widths``; all ones: the plain ℓ∞ norm of the raw features),
        for changes of at most one unit of that norm (the box |Δxᵢₖ| ≤ wₖ).

        L = λ_F · s · λ_Φ · Σᵢ cᵢ over the real constituents i, with σ the standardisation's
        scales and cᵢ = max(maxₖ wₖ/σₖ, max over ``exp_features`` k of
        exp(xᵢₖ)(e^{wₖ} − 1)/σ_exp(k)): exp is not globally Lipschitz, but on the box
        |Δxᵢₖ| ≤ wₖ it moves by at most exp(xᵢₖ)(e^{wₖ} − 1), so the bound is local to the
        jets ``x`` and needs them. Without ``exp_features`` cᵢ is the same for every
        constituent and L = λ_F · s · n · λ_Φ · maxₖ(wₖ/σₖ). A width wₖ = 0 holds feature k.

        Arguments:
            mask: (jets, constituents), which constituents are real.
            feature_widths: wₖ ≥ 0 per feature, or None for ones.
            x: the jets (needed with ``exp_features``).

        Returns:
            A tensor (jets,) of bounds.

        Raises:
            ConstraintError: the network was built without ``lipschitz``.

        Example:
            >>> net = ParticleFlowNetwork(2, latent=4, phi_hidden=(8,), head_hidden=(8,),
            ...                           lipschitz=(2.0, 3.0), pool_scale=0.5)
            >>> net.lipschitz_bound(torch.tensor([[True, True, False]])).tolist()
            [6.0]
        """
        if self.lipschitz is None:
            raise ConstraintError(
                "this ParticleFlowNetwork has no Lipschitz bound (built with lipschitz=None, "
                "plain ReLU layers); build it with lipschitz=(λ_Φ, λ_F) to certify it"
            )
        widths = (
            torch.ones(self.in_features)
            if feature_widths is None
            else torch.as_tensor(feature_widths, dtype=torch.float64).reshape(-1)
        )
        if widths.numel() != self.in_features or not bool((widths >= 0).all()):
            raise ConfigError(
                f"feature_widths must be {self.in_features} values ≥ 0, got {widths.tolist()}"
            )
        scales = self.standardize.scale.double()
        widths = widths.double()
        factor = (widths / scales[: self.in_features]).max() * mask.to(torch.float64)
        if self.exp_features:
            if x is None:
                raise DataError("with exp_features the bound depends on the jets: pass x=")
            for position, k in enumerate(self.exp_features):
                moved = torch.exp(x[..., k].double()) * torch.expm1(widths[k])
                factor = torch.maximum(factor, moved / scales[self.in_features + position])
            factor = factor * mask.to(torch.float64)
        phi = lipschitz_bound(self.phi, input_norm="inf", output_norm="inf")
        head = lipschitz_bound(self.head, input_norm="inf", output_norm="inf")
        return head * self.pool_scale * phi * factor.sum(dim=-1)
