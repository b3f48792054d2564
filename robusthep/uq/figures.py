"""Figures of an ensemble study: test loss and its coefficient of variation vs training size."""

import os
from pathlib import Path

from robusthep.uq.study import EnsembleStudy

__all__ = ["plot_ensemble_study"]


def plot_ensemble_study(study: EnsembleStudy, path: str | os.PathLike) -> Path:
    """Writes the seed's two panels: μ_L ± σ_L vs n, and CV = σ_L/μ_L vs n.

    Finite ensembles are points with error bars (σ_L), the infinite-width prediction a line
    with a band; both axes of the loss panel and the size axes are logarithmic.

    Arguments:
        study: the result of :func:`~robusthep.uq.ensemble_study`.
        path: the PNG to write (its folder must exist).

    Returns:
        The path written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    sizes = study.sizes
    figure, (loss_axis, cv_axis) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    width = study.settings.get("width")
    loss_axis.errorbar(
        sizes,
        study.ensemble_mean,
        yerr=study.ensemble_std,
        fmt="o",
        capsize=3,
        label=f"ensemble of {study.settings.get('members')} (width {width})",
    )
    lower = [m - s for m, s in zip(study.infinite_mean, study.infinite_std, strict=True)]
    upper = [m + s for m, s in zip(study.infinite_mean, study.infinite_std, strict=True)]
    loss_axis.plot(sizes, study.infinite_mean, "-", color="C1", label="infinite width")
    loss_axis.fill_between(sizes, lower, upper, color="C1", alpha=0.25)
    loss_axis.set(xscale="log", yscale="log", xlabel="training examples n")
    loss_axis.set_ylabel("test loss μ_L ± σ_L")
    loss_axis.legend()
    cv_axis.plot(sizes, study.ensemble_cv, "o", label="ensemble")
    cv_axis.plot(sizes, study.infinite_cv, "-", color="C1", label="infinite width")
    cv_axis.set(xscale="log", xlabel="training examples n", ylabel="CV = σ_L / μ_L")
    cv_axis.set_ylim(bottom=0)
    cv_axis.legend()
    for axis in (loss_axis, cv_axis):
        # Sizes as the major ticks, and no minor labels that crowd a short log axis.
        axis.set_xticks(sizes, [str(n) for n in sizes])
        axis.xaxis.set_minor_formatter(NullFormatter())
    path = Path(path)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
