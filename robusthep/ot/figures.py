"""Event displays of shape fits: the particles, the fitted circles and the critic's potential."""

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robusthep.ot.clouds import as_cloud
from robusthep.ot.shapes import ShapeFit

__all__ = ["plot_jet_fits", "plot_shape_fit"]


def plot_shape_fit(
    points: torch.Tensor | np.ndarray,
    weights: torch.Tensor | np.ndarray | None,
    fit: ShapeFit,
    path: str | os.PathLike,
    *,
    labels: tuple[str, str] = ("rapidity y", "azimuth φ"),
) -> Path:
    """Writes an event display of a shape fit as a PNG.

    Particles are dots with area ∝ energy; each fitted circle is drawn with its energy
    fraction; the background is the critic (the Kantorovich potential), whose gradient is
    the force that pulled the shape during the fit.

    Arguments:
        points: the cloud that was fitted, (n, 2).
        weights: its energies, or None.
        fit: what :func:`~robusthep.ot.fit_shape` returned.
        path: the PNG to write (its folder must exist).
        labels: axis labels.

    Returns:
        The path written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data, energy = as_cloud(points, weights, name="points")
    data, fractions = data.numpy(), (energy / energy.sum()).numpy()
    low, high = data.min(axis=0), data.max(axis=0)
    pad = 0.15 * (high - low).max()
    xs = np.linspace(low[0] - pad, high[0] + pad, 120)
    ys = np.linspace(low[1] - pad, high[1] + pad, 120)
    grid = torch.tensor(np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2), dtype=torch.float32)
    with torch.no_grad():
        potential = fit.emd.critic(grid).reshape(len(ys), len(xs)).numpy()
    figure, axis = plt.subplots(figsize=(6, 5), constrained_layout=True)
    image = axis.pcolormesh(xs, ys, potential, cmap="RdBu_r", shading="auto")
    figure.colorbar(image, ax=axis, label="critic f (Kantorovich potential)")
    axis.scatter(data[:, 0], data[:, 1], s=2000 * fractions, c="k", alpha=0.6, lw=0)
    shape = fit.shape.parameters_dict()
    _draw_circles(axis, shape, fit.shape.kind)
    axis.set(xlabel=labels[0], ylabel=labels[1], aspect="equal")
    axis.set_title(f"{len(shape['radii'])} {fit.shape.kind}(s), EMD = {fit.emd.value:.4f}")
    path = Path(path)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def _draw_circles(axis: Any, shape: Mapping[str, Sequence], kind: str) -> None:
    """Draws the circles of a shape (``CircleShape.parameters_dict()``) with their fractions."""
    import matplotlib.pyplot as plt

    for (cx, cy), radius, fraction in zip(
        shape["centres"], shape["radii"], shape["fractions"], strict=True
    ):
        axis.add_patch(
            plt.Circle(
                (cx, cy),
                radius,
                fill=kind == "disk",
                alpha=0.3 if kind == "disk" else 0.8,
                ec="C2",
                fc="none" if kind == "ring" else "C2",
                lw=2,
            )
        )
        axis.add_patch(plt.Circle((cx, cy), radius, fill=False, ec="C2", lw=2))
        axis.annotate(f"{fraction:.2f}", (cx, cy + radius), color="C2", ha="center", va="bottom")


def plot_jet_fits(
    jets: Sequence[tuple[np.ndarray, np.ndarray, str]],
    fits: Sequence[Mapping[str, Any]],
    path: str | os.PathLike,
    *,
    kind: str = "disk",
    radius: float = 1.0,
) -> Path:
    """Event displays of jet shape fits: one row per jet, one column per number of circles.

    Constituents are dots with area ∝ pT fraction, in (Δη, Δφ) to the jet axis; each
    fitted circle is drawn with its energy fraction, and the panel's title gives the exact
    EMD (POT) between the jet and the fitted shape.

    Arguments:
        jets: ``(points, pT fractions, title)`` per jet.
        fits: per jet, what :func:`~robusthep.ot.jets.fit_jet_shapes` returned.
        path: the PNG to write.
        kind: the shapes' kind ("disk" or "ring").
        radius: the jet radius R: the axes span ±R.

    Returns:
        The path written.
    """
    from robusthep.report import figure

    columns = max(len(fit["n_circles"]) for fit in fits)
    with figure(path, ncols=columns, nrows=len(jets), size=(4.2 * columns, 4.0 * len(jets))) as (
        _,
        axes,
    ):
        axes = np.asarray(axes).reshape(len(jets), columns)
        for row, ((points, fractions, title), fit) in enumerate(zip(jets, fits, strict=True)):
            for column in range(columns):
                axis = axes[row, column]
                if column >= len(fit["n_circles"]):
                    axis.set_axis_off()
                    continue
                axis.scatter(
                    points[:, 0], points[:, 1], s=500 * fractions + 4, c="k", alpha=0.7, zorder=3
                )
                _draw_circles(axis, fit["shapes"][column], kind)
                axis.set(xlim=(-radius, radius), ylim=(-radius, radius), aspect="equal")
                axis.set_xlabel("Δη", fontsize=11)
                axis.set_ylabel("Δφ", fontsize=11)
                axis.tick_params(labelsize=9)
                axis.set_title(
                    f"{title}: k = {fit['n_circles'][column]}, EMD = {fit['exact'][column]:.3f}",
                    fontsize=10,
                )
    return Path(path)
