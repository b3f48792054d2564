"""Moment decorrelation (MoDe): flat, linear or quadratic score CDFs across mass bins."""

import torch

from robusthep.errors import ConfigError, DataError
from robusthep.losses._inputs import as_vector, background_mask, event_weights

__all__ = ["mode_loss"]

_ORDERS = (0, 1, 2)


def mode_loss(
    scores: torch.Tensor,
    protected: torch.Tensor,
    labels: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
    *,
    order: int = 0,
    bins: int = 32,
    sbins: int = 32,
    monotonic: bool = False,
    max_slope: float | None = None,
    background_label: int = 0,
    eps: float = 1e-4,
) -> torch.Tensor:
    r"""The MoDe penalty: how far the background score CDF departs from a degree-``order``
    polynomial in the protected variable.

    On background events, the protected variable m is scaled to [−1, 1] and split into
    ``bins`` bins of equal occupancy. In each bin b the CDF of the score, F_b(s), is taken at
    ``sbins`` points s in [0, 1]; at each s the values F_b(s) are projected on the Legendre
    polynomials P₀ … P_order of the bin centres m_b (integrals Σ_b F_b(s) P_k(m_b) Δm_b, Δm_b
    the bin's width). The penalty is (1/bins) Σ_b w̄_b Σ_s Δs (F_b(s) − fit_b(s))², with w̄_b
    the bin's mean weight. Order 0 asks for the same efficiency at every mass for every cut
    (full decorrelation); order 1 allows a linear dependence; order 2 a quadratic one.
    ``max_slope`` bounds the linear term to that fraction of the slope that would empty one
    edge (fit = a₀ + max_slope·a₀·tanh(a₁/(max_slope·a₀ + eps))·m); ``monotonic`` (order 2)
    bounds the quadratic term by the linear one so the fit stays monotonic in m.

    The CDF is a step function; the gradient is that of the same loss with the integral over
    s taken exactly (the authors' choice), which moves each score by the residual of its own
    bin's CDF at that score.

    Conventions, those of the authors' ``modeloss`` 0.1.0 (``MoDeLoss(order, bins, sbins,
    monotonic, max_slope)`` called as ``loss(scores, labels, mass, weights)``), which this
    function matches in value and gradient (tested): scores in [0, 1]; the background
    events beyond the last multiple of ``bins`` are dropped in the given order (shuffle
    batches); the mass is scaled with the batch minimum and maximum. Two differences: the
    weights are normalised to mean 1 on the background (``modeloss`` uses them as given, so
    its loss scales with them), and within a bin the CDF is weighted by the events' weights
    (``modeloss`` uses only the bin's mean weight); the two agree when weights are constant
    within each mass bin.

    Arguments:
        scores: classifier outputs in [0, 1], shape (N,) or (N, 1).
        protected: the variable to decorrelate from, e.g. the jet mass, shape (N,).
        labels: 0/1 labels; None treats every event as background.
        weights: per-event weights ≥ 0 (constants), or None.
        order: 0 (flat), 1 (linear) or 2 (quadratic).
        bins: equal-occupancy bins of the protected variable; the batch needs at least as
            many background events.
        sbins: points s at which the CDFs are compared (affects the value, not the gradient).
        monotonic: for order 2, keep the fitted dependence monotonic.
        max_slope: for order ≥ 1, bound on the linear term (a fraction, see above).
        background_label: the label of background events.
        eps: guards the ratios of ``max_slope`` and ``monotonic`` against division by zero.

    Returns:
        A scalar tensor, differentiable in ``scores``.

    Example:
        >>> generator = torch.Generator().manual_seed(0)
        >>> mass = torch.rand(4096, generator=generator)
        >>> flat = torch.rand(4096, generator=generator)
        >>> round(mode_loss(flat, mass).item(), 4)  # statistical floor, ~1/(6 × events per bin)
        0.0012
        >>> round(mode_loss(mass, mass).item(), 3)  # the score is the mass
        0.159

    References:
        Kitouni, Nachman, Weisser, Williams, "Enhancing searches for resonances with machine
        learning and moment decorrelation", JHEP 04 (2021) 070, arXiv:2010.09745.
    """
    if order not in _ORDERS:
        raise ConfigError(f"order must be one of {list(_ORDERS)}, got {order!r}")
    for name, value in (("bins", bins), ("sbins", sbins)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be an integer ≥ 1, got {value!r}")
    if max_slope is not None and not max_slope > 0:
        raise ConfigError(f"max_slope must be > 0 or None, got {max_slope!r}")
    scores = as_vector("scores", scores)
    rows = scores.numel()
    if bool(((scores < 0) | (scores > 1)).any()):
        raise DataError(
            f"MoDe compares score CDFs on [0, 1], but the scores span [{float(scores.min())}, "
            f"{float(scores.max())}]; pass probabilities (e.g. the sigmoid of the logits)"
        )
    protected = as_vector("protected", protected, rows=rows).to(scores.dtype)
    mask = background_mask(labels, rows=rows, background_label=background_label)
    mask = mask.to(scores.device)
    w = event_weights(weights, rows=rows, like=scores)[mask]
    scores, protected = scores[mask], protected[mask]
    kept = (scores.numel() // bins) * bins
    if kept == 0:
        raise DataError(
            f"MoDe needs at least bins={bins} background events, got {scores.numel()}; use "
            "larger batches or fewer bins"
        )
    scores, protected, w = scores[:kept], protected[:kept], w[:kept]
    if not bool((w > 0).any()):
        raise DataError("all background weights are zero: MoDe is undefined on this batch")
    low, high = protected.min(), protected.max()
    if not high > low:
        raise DataError(
            f"the protected variable is constant ({float(low)}) on the background: there is "
            "no dependence to remove"
        )
    mass = 2 * (protected - low) / (high - low) - 1
    ordering = torch.argsort(mass)
    mass = mass[ordering].view(bins, -1)
    fit = _LegendreFit(
        centres=mass.mean(dim=1),
        widths=mass.max(dim=1).values - mass.min(dim=1).values,
        order=order,
        monotonic=monotonic,
        max_slope=max_slope,
        eps=eps,
    )
    return _MoDe.apply(
        scores[ordering].view(bins, -1), (w / w.mean())[ordering].view(bins, -1), fit, sbins
    )


class _LegendreFit:
    """The projection, at each s, of the bin CDFs F_b(s) on Legendre polynomials of m_b."""

    def __init__(
        self,
        *,
        centres: torch.Tensor,
        widths: torch.Tensor,
        order: int,
        monotonic: bool,
        max_slope: float | None,
        eps: float,
    ) -> None:
        self.m, self.dm = centres, widths
        self.order, self.monotonic, self.max_slope, self.eps = order, monotonic, max_slope, eps

    def __call__(self, cdf: torch.Tensor) -> torch.Tensor:
        """The fitted CDFs; ``cdf`` has the bins in its last dimension."""
        m, dm = self.m, self.dm
        a0 = 0.5 * (cdf * dm).sum(-1, keepdim=True)
        fit = a0.expand_as(cdf)
        if self.order >= 1:
            a1 = 1.5 * (cdf * m * dm).sum(-1, keepdim=True)
            if self.max_slope is None:
                fit = fit + a1 * m
            else:
                bound = self.max_slope * a0
                fit = fit + bound * torch.tanh(a1 / (bound + self.eps)) * m
        if self.order >= 2:
            p2 = 0.5 * (3 * m**2 - 1)
            a2 = 2.5 * (cdf * p2 * dm).sum(-1, keepdim=True)
            if self.monotonic:
                fit = fit + a1 / 3 * torch.tanh(a2 / (a1 / 3 + self.eps)) * p2
            else:
                fit = fit + a2 * p2
        return fit


def _bin_cdfs(scores: torch.Tensor, weights: torch.Tensor, at: torch.Tensor) -> torch.Tensor:
    """F_b(s) for every bin b and every s in ``at`` (shape (S,)): shape (S, bins).

    A score equal to s counts one half, as a Heaviside step with H(0) = ½.
    """
    ordered, positions = torch.sort(scores, dim=1)
    cumulative = torch.cumsum(torch.gather(weights, 1, positions), dim=1)
    cumulative = torch.cat([torch.zeros_like(cumulative[:, :1]), cumulative], dim=1)
    points = at.to(scores.dtype).expand(scores.shape[0], -1).contiguous()
    below = torch.gather(cumulative, 1, torch.searchsorted(ordered, points, side="left"))
    up_to = torch.gather(cumulative, 1, torch.searchsorted(ordered, points, side="right"))
    return ((below + up_to) / 2 / cumulative[:, -1:]).T


class _MoDe(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx,
        scores: torch.Tensor,
        weights: torch.Tensor,
        fit: _LegendreFit,
        sbins: int,
    ) -> torch.Tensor:
        grid = (torch.arange(sbins, dtype=scores.dtype, device=scores.device) + 0.5) / sbins
        cdf = _bin_cdfs(scores, weights, grid)
        bin_weights = weights.mean(dim=1)
        ctx.save_for_backward(scores, weights)
        ctx.fit = fit
        return _integrand(cdf, fit, bin_weights).sum() / sbins

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor
    ) -> tuple[torch.Tensor | None, ...]:
        scores, weights = ctx.saved_tensors
        bins, per_bin = scores.shape
        # dF_b(s)/d(score i of bin b) = −(wᵢ/W_b) δ(s − scoreᵢ): the exact integral over s of
        # the loss moves each score by ∂integrand/∂F_b evaluated at s = that score.
        with torch.enable_grad():
            cdf = _bin_cdfs(scores, weights, scores.reshape(-1)).requires_grad_()
            integrand = _integrand(cdf, ctx.fit, weights.mean(dim=1)).sum()
            (slope,) = torch.autograd.grad(integrand, cdf)
        own_bin = torch.arange(bins, device=scores.device).repeat_interleave(per_bin)
        own = slope[torch.arange(bins * per_bin, device=scores.device), own_bin].view(bins, -1)
        share = weights / weights.sum(dim=1, keepdim=True)
        return -grad * own * share, None, None, None


def _integrand(cdf: torch.Tensor, fit: _LegendreFit, bin_weights: torch.Tensor) -> torch.Tensor:
    """(1/bins) Σ_b w̄_b (F_b(s) − fit_b(s))², one value per s (rows of ``cdf``)."""
    return ((cdf - fit(cdf)) ** 2 * bin_weights).sum(-1) / cdf.shape[-1]
