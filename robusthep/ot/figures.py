"""Event displays of shape fits: the particles, the fitted circles and the critic's potential."""

import os
from pathlib import Path

import numpy as np
import torch

from robusthep.ot.clouds import as_cloud
from robusthep.ot.shapes import ShapeFit

__all__ = ["plot_shape_fit"]


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
    for (cx, cy), radius, fraction in zip(
        shape["centres"], shape["radii"], shape["fractions"], strict=True
    ):
        axis.add_patch(
            plt.Circle(
                (cx, cy),
                radius,
                fill=fit.shape.kind == "disk",
                alpha=0.8,
                ec="C2",
                fc="none" if fit.shape.kind == "ring" else "C2",
                lw=2,
            )
        )
        axis.annotate(f"{fraction:.2f}", (cx, cy), color="C2", ha="center", va="center")
    axis.set(xlabel=labels[0], ylabel=labels[1], aspect="equal")
    axis.set_title(f"{len(shape['radii'])} {fit.shape.kind}(s), EMD = {fit.emd.value:.4f}")
    path = Path(path)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
