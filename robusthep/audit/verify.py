"""Auditing any model for monotonicity violations and for its empirical Lipschitz ratio."""

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from robusthep.errors import ConfigError, ConstraintError, DataError
from robusthep.nn import MonotonicWrapper, lipschitz_bound, monotonic_signs
from robusthep.nn.norms import vector_norm

__all__ = ["VerificationReport", "verify"]

Model = nn.Module | Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class VerificationReport:
    """What :func:`verify` found: counts and extremes, not a yes/no.

    Attributes:
        points: the number of model evaluations made.
        monotonic_features: the audited features and their claimed signs (+1 / −1).
        monotonic_pairs: the number of ordered pairs checked per feature.
        monotonic_violations: per feature, the pairs where the output moved the wrong way
            by more than the tolerance.
        worst_monotonic_step: per feature, the largest wrong-way output change found (≤ 0
            means none).
        lipschitz_claimed: the bound audited (None: no bound audited).
        input_norm: the input norm of the bound.
        lipschitz_pairs: the number of pairs checked for the bound.
        lipschitz_violations: the pairs whose ratio exceeded the bound beyond tolerance.
        max_lipschitz_ratio: the largest |f(x) − f(y)|_∞ / ‖x − y‖ found.
        searches: which searches ran ("random", "grid", "gradient" or "local").
    """

    points: int
    monotonic_features: dict[str, int]
    monotonic_pairs: int
    monotonic_violations: dict[str, int]
    worst_monotonic_step: dict[str, float]
    lipschitz_claimed: float | None
    input_norm: str
    lipschitz_pairs: int
    lipschitz_violations: int
    max_lipschitz_ratio: float
    searches: list[str] = field(default_factory=list)

    @property
    def violations(self) -> int:
        """All violations found: monotonicity (every feature) plus Lipschitz."""
        return sum(self.monotonic_violations.values()) + self.lipschitz_violations

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dictionary of the report."""
        return {**asdict(self), "violations": self.violations}


def _claims(
    model: Model,
    in_features: int,
    increasing: Sequence[int | str] | None,
    decreasing: Sequence[int | str] | None,
    feature_names: Sequence[str] | None,
) -> list[int]:
    if increasing is None and decreasing is None and isinstance(model, MonotonicWrapper):
        return [int(s) for s in model.signs.tolist()]
    return monotonic_signs(
        in_features,
        increasing=increasing or (),
        decreasing=decreasing or (),
        feature_names=feature_names,
    )


def _claimed_bound(
    model: Model, lipschitz: float | None, input_norm: str, in_features: int
) -> float | None:
    if lipschitz is not None:
        if not (math.isfinite(lipschitz) and lipschitz > 0):
            raise ConfigError(
                f"the claimed lipschitz bound must be finite and > 0, got {lipschitz!r}"
            )
        return float(lipschitz)
    if isinstance(model, nn.Module):
        try:
            return lipschitz_bound(
                model, input_norm=input_norm, in_features=in_features, guaranteed=False
            )
        except ConstraintError:
            return None
    return None


class _Evaluator:
    """Counts evaluations; evaluates in chunks without gradients unless asked."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.points = 0

    def __call__(self, x: torch.Tensor, grad: bool = False) -> torch.Tensor:
        self.points += x.shape[0]
        if grad:
            out = self.model(x)
        else:
            with torch.no_grad():
                out = self.model(x)
        out = torch.as_tensor(out)
        return out.reshape(x.shape[0], -1)


def _differentiable(model: Model) -> bool:
    return isinstance(model, nn.Module)


def verify(
    model: Model,
    inputs: torch.Tensor,
    *,
    increasing: Sequence[int | str] | None = None,
    decreasing: Sequence[int | str] | None = None,
    feature_names: Sequence[str] | None = None,
    lipschitz: float | None = None,
    input_norm: str = "one",
    pairs: int = 2048,
    grid: int = 64,
    steps: int = 30,
    margin: float = 0.1,
    tolerance: float = 1e-5,
    seed: int = 0,
) -> VerificationReport:
    r"""Search for monotonicity violations and for pairs breaking a claimed Lipschitz bound.

    Works on any model: robusthep's, an exported copy, an ``OnnxModel``, someone else's
    ``nn.Module`` or a plain callable (tensor in, tensor out). The searched domain is the
    box spanned by ``inputs``, widened by ``margin`` of each feature's range on both sides,
    since guarantees matter most where there was no training data.

    Monotonicity, for each claimed feature i with sign s: random pairs (x, x + δeᵢ), δ > 0;
    grid scans of feature i through the box from anchor points; and an adversarial search
    minimising s·(g(x + δeᵢ) − g(x)) over x and δ, by gradient steps for torch modules and by
    random local search otherwise. Lipschitz: random pairs at distances from 10⁻³ to 1 of
    the box, then an adversarial ascent of the ratio |g(x) − g(y)|_∞ / ‖x − y‖. A pair
    violates a claim when it misses it by more than ``tolerance`` relative to the output's
    scale (float32 rounding).

    Arguments:
        model: the model to audit.
        inputs: representative inputs (N, features): the domain and the anchors.
        increasing: features claimed non-decreasing (names or indices); by default, for a
            ``MonotonicWrapper``, its own signs.
        decreasing: features claimed non-increasing.
        feature_names: names of the features, to refer to them by name.
        lipschitz: the claimed bound; by default the certified bound of a robusthep model
            (none is audited if it cannot be derived).
        input_norm: the norm of the bound ("one", "two", "inf").
        pairs: random pairs per check.
        grid: points per grid scan.
        steps: adversarial search steps.
        margin: widening of the box, as a fraction of each feature's range.
        tolerance: relative tolerance for float rounding.
        seed: the seed of every random choice.

    Returns:
        A :class:`VerificationReport` with counts.

    Example:
        >>> from robusthep.nn import MonotonicWrapper, lipschitz_mlp
        >>> g = MonotonicWrapper(lipschitz_mlp(2, hidden=(8,)), increasing=[0])
        >>> report = verify(g, torch.randn(200, 2), pairs=256, steps=5)
        >>> report.violations, report.monotonic_violations
        (0, {'0': 0})
    """
    inputs = torch.as_tensor(inputs, dtype=torch.float32)
    if inputs.ndim != 2 or inputs.shape[0] < 2:
        raise DataError(f"inputs must have shape (N ≥ 2, features), got {tuple(inputs.shape)}")
    bad = ~torch.isfinite(inputs)
    if bad.any():
        rows = bad.any(dim=1).nonzero().flatten()
        raise DataError(
            f"inputs hold {int(bad.sum())} NaN or infinite values in {rows.numel()} rows "
            f"(first rows {rows[:5].tolist()}); remove or impute them before verifying"
        )
    for name, value in (("pairs", pairs), ("grid", grid)):
        if value < 2:
            raise ConfigError(f"{name} must be ≥ 2, got {value}")
    n_features = inputs.shape[1]
    names = list(feature_names) if feature_names is not None else None
    if names is None and isinstance(model, MonotonicWrapper) and model.feature_names:
        names = model.feature_names
    signs = _claims(model, n_features, increasing, decreasing, names)
    claimed = _claimed_bound(model, lipschitz, input_norm, n_features)
    generator = torch.Generator().manual_seed(seed)
    low, high = inputs.min(dim=0).values, inputs.max(dim=0).values
    span = (high - low).clamp_min(1e-6)
    low, high = low - margin * span, high + margin * span
    span = high - low
    evaluate = _Evaluator(model)
    searches = ["random", "grid", "gradient" if _differentiable(model) else "local"]

    def label(index: int) -> str:
        return names[index] if names else str(index)

    monotonic_features, violations, worst = {}, {}, {}
    checked = 0
    for index, sign in enumerate(signs):
        if sign == 0:
            continue
        key = label(index)
        monotonic_features[key] = sign
        count, step, checked = _audit_feature(
            evaluate,
            inputs,
            index,
            sign,
            low,
            high,
            span,
            pairs,
            grid,
            steps,
            tolerance,
            generator,
        )
        violations[key] = count
        worst[key] = step
    lipschitz_pairs, lipschitz_violations, ratio = _audit_lipschitz(
        evaluate, inputs, claimed, input_norm, low, high, span, pairs, steps, tolerance, generator
    )
    return VerificationReport(
        points=evaluate.points,
        monotonic_features=monotonic_features,
        monotonic_pairs=checked,
        monotonic_violations=violations,
        worst_monotonic_step=worst,
        lipschitz_claimed=claimed,
        input_norm=input_norm,
        lipschitz_pairs=lipschitz_pairs,
        lipschitz_violations=lipschitz_violations,
        max_lipschitz_ratio=ratio,
        searches=searches,
    )


def _anchors(
    inputs: torch.Tensor, low: torch.Tensor, span: torch.Tensor, n: int, generator: torch.Generator
) -> torch.Tensor:
    """Half data points (jittered), half uniform in the widened box."""
    half = n // 2
    rows = torch.randint(inputs.shape[0], (half,), generator=generator)
    jitter = 0.01 * span * torch.randn(half, inputs.shape[1], generator=generator)
    uniform = low + span * torch.rand(n - half, inputs.shape[1], generator=generator)
    return torch.cat((inputs[rows] + jitter, uniform))


def _slack(a: torch.Tensor, b: torch.Tensor, tolerance: float) -> torch.Tensor:
    return tolerance * (1.0 + torch.maximum(a.abs(), b.abs()))


def _audit_feature(
    evaluate: _Evaluator,
    inputs: torch.Tensor,
    index: int,
    sign: int,
    low: torch.Tensor,
    high: torch.Tensor,
    span: torch.Tensor,
    pairs: int,
    grid: int,
    steps: int,
    tolerance: float,
    generator: torch.Generator,
) -> tuple[int, float, int]:
    """(violations, worst wrong-way step, pairs checked) for one monotonic feature."""
    unit = torch.zeros(inputs.shape[1])
    unit[index] = 1.0

    def wrong_way(
        x: torch.Tensor, delta: torch.Tensor, grad: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        before = evaluate(x, grad)
        after = evaluate(x + delta[:, None] * unit, grad)
        change = sign * (after - before)  # ≥ 0 when monotonic
        return -change, _slack(before, after, tolerance)

    # Random pairs.
    x = _anchors(inputs, low, span, pairs, generator)
    delta = span[index] * torch.rand(pairs, generator=generator)
    bad, slack = wrong_way(x, delta)
    count = int((bad > slack).any(dim=1).sum())
    worst = float(bad.max())
    checked = pairs
    # Grid scans along the feature from anchor points.
    n_scans = max(2, pairs // grid)
    anchors = _anchors(inputs, low, span, n_scans, generator)
    values = torch.linspace(float(low[index]), float(high[index]), grid)
    scans = anchors.repeat_interleave(grid, dim=0)
    scans[:, index] = values.repeat(n_scans)
    out = evaluate(scans).reshape(n_scans, grid, -1)
    steps_out = sign * (out[:, 1:] - out[:, :-1])
    slack = _slack(out[:, 1:], out[:, :-1], tolerance)
    count += int(((-steps_out) > slack).any(dim=2).sum())
    worst = max(worst, float((-steps_out).max()))
    checked += n_scans * (grid - 1)
    # Adversarial search from the worst random pairs.
    n_start = min(256, pairs)
    start = torch.topk(bad.max(dim=1).values, n_start).indices
    x, delta = x[start].clone(), delta[start].clone()
    x, delta = _adversarial(evaluate, wrong_way, x, delta, low, high, span[index], steps, generator)
    bad, slack = wrong_way(x, delta)
    count += int((bad > slack).any(dim=1).sum())
    worst = max(worst, float(bad.max()))
    checked += n_start
    return count, worst, checked


def _adversarial(
    evaluate: _Evaluator,
    objective: Callable,
    x: torch.Tensor,
    delta: torch.Tensor,
    low: torch.Tensor,
    high: torch.Tensor,
    max_delta: torch.Tensor,
    steps: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Maximise the wrong-way change over (x, δ) inside the box."""
    if _differentiable(evaluate.model):

        def project(x: torch.Tensor, delta: torch.Tensor) -> None:
            x.copy_(torch.maximum(torch.minimum(x, high), low))
            delta.clamp_(1e-6 * float(max_delta), float(max_delta))

        return _gradient_ascent(
            lambda x, delta: objective(x, delta, True)[0],
            (x, delta),
            0.02 * float(max_delta),
            steps,
            project,
        )
    best, _ = objective(x, delta)
    best = best.max(dim=1).values
    for _ in range(steps):
        scale = 0.05 * (high - low)
        x_try = torch.maximum(
            torch.minimum(x + scale * torch.randn(x.shape, generator=generator), high), low
        )
        d_try = (delta * torch.exp(0.3 * torch.randn(delta.shape, generator=generator))).clamp(
            1e-6 * float(max_delta), float(max_delta)
        )
        value, _ = objective(x_try, d_try)
        value = value.max(dim=1).values
        better = value > best
        x[better], delta[better], best[better] = x_try[better], d_try[better], value[better]
    return x, delta


def _gradient_ascent(
    objective: Callable[..., torch.Tensor],
    variables: tuple[torch.Tensor, ...],
    lr: float,
    steps: int,
    project: Callable[..., None],
) -> tuple[torch.Tensor, ...]:
    """Adam steps raising the sum of a per-sample objective, projecting after each step."""
    variables = tuple(v.detach().clone().requires_grad_(True) for v in variables)
    optimizer = torch.optim.Adam(variables, lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        (-objective(*variables).sum()).backward()
        optimizer.step()
        with torch.no_grad():
            project(*variables)
    return tuple(v.detach() for v in variables)


def _audit_lipschitz(
    evaluate: _Evaluator,
    inputs: torch.Tensor,
    claimed: float | None,
    input_norm: str,
    low: torch.Tensor,
    high: torch.Tensor,
    span: torch.Tensor,
    pairs: int,
    steps: int,
    tolerance: float,
    generator: torch.Generator,
) -> tuple[int, int, float]:
    """(pairs checked, violations, largest ratio found)."""
    x = _anchors(inputs, low, span, pairs, generator)
    scale = 10 ** (-3 * torch.rand(pairs, 1, generator=generator))
    direction = torch.randn(x.shape, generator=generator)
    y = x + scale * span * direction / direction.abs().max(dim=1, keepdim=True).values

    def ratio(
        a: torch.Tensor, b: torch.Tensor, grad: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        fa, fb = evaluate(a, grad), evaluate(b, grad)
        distance = vector_norm(a - b, input_norm).clamp_min(1e-12)
        change = (fa - fb).abs().max(dim=1).values
        slack = _slack(fa, fb, tolerance).max(dim=1).values / distance
        return change / distance, slack

    values, slack = ratio(x, y)
    n_start = min(256, pairs)
    start = torch.topk(values, n_start).indices
    a, b = x[start].clone(), y[start].clone()
    if _differentiable(evaluate.model):

        def project(a: torch.Tensor, b: torch.Tensor) -> None:
            a.copy_(torch.maximum(torch.minimum(a, high), low))
            b.copy_(torch.maximum(torch.minimum(b, high), low))

        a, b = _gradient_ascent(
            lambda a, b: ratio(a, b, True)[0], (a, b), 0.005 * float(span.mean()), steps, project
        )
    final, final_slack = ratio(a, b)
    values = torch.cat((values, final))
    slack = torch.cat((slack, final_slack))
    checked = values.numel()
    if claimed is None:
        return checked, 0, float(values.max())
    broken = values > claimed * (1 + tolerance) + slack
    return checked, int(broken.sum()), float(values.max())
