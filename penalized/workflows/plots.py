"""``PathResult.plot()`` and ``CVResult.plot()``: glmnet's two plots, on matplotlib.

pyplot is imported only when a plot is drawn, and the backend is left to the user
(the HTML report's figures, :mod:`penalized.app.report.figures`, force Agg).
"""

from __future__ import annotations

import numpy as np

#: curves labelled at the right end of a coefficient plot (the largest ones)
MAX_LABELS = 10


def _axes(ax):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(7.5, 4.2))[1]


def _log_alphas(alphas) -> np.ndarray:
    return np.log10(np.maximum(np.asarray(alphas, dtype=float), np.finfo(float).tiny))


def _mark_rules(ax, alpha_min, alpha_1se) -> None:
    ax.axvline(np.log10(alpha_min), color="tab:red", ls="--", lw=1,
               label=f"alpha_min = {alpha_min:.3g}")
    ax.axvline(np.log10(alpha_1se), color="tab:blue", ls=":", lw=1.5,
               label=f"alpha_1se = {alpha_1se:.3g}")


def nonzero_axis(ax, log_alphas: np.ndarray, n_nonzero: np.ndarray):
    """Nonzero coefficients on a top axis, at up to 8 alphas of the grid."""
    top = ax.twiny()
    top.set_xlim(ax.get_xlim())
    picks = np.unique(np.linspace(0, log_alphas.shape[0] - 1, 8).round().astype(int))
    top.set_xticks(log_alphas[picks])
    top.set_xticklabels([str(int(n_nonzero[k])) for k in picks], fontsize=8)
    top.set_xlabel("nonzero coefficients", fontsize=9)
    return top


def plot_path(path, ax=None, *, feature_names=None, class_index: int = 0):
    """Coefficients against log10(alpha), each curve labelled by its feature, the
    nonzero count on the top axis; a multiclass path shows class ``class_index``."""
    ax = _axes(ax)
    coefs = np.asarray(path.coefs, dtype=float)
    if coefs.ndim == 3:
        coefs = coefs[:, :, class_index]
    names = feature_names or path.feature_names or [f"x{j}" for j in range(coefs.shape[1])]
    x = _log_alphas(path.alphas)
    lines = ax.plot(x, coefs, lw=1)
    last = int(np.argmin(path.alphas))
    for j in np.argsort(-np.abs(coefs[last]))[:MAX_LABELS]:
        lines[j].set_label(str(names[j]))
        if coefs[last, j] != 0:
            ax.annotate(str(names[j])[:24], (x[last], coefs[last, j]), fontsize=7,
                        xytext=(3, 0), textcoords="offset points", va="center")
    ax.axhline(0.0, color="0.6", lw=0.5)
    ax.set_xlabel("log10(alpha)")
    ax.set_ylabel("coefficient")
    nonzero_axis(ax, x, np.count_nonzero(coefs, axis=1))
    return ax


def plot_cv(cv, ax=None):
    """Mean CV score with +-1 standard-error bars against log10(alpha), both rules
    (``alpha_min``, ``alpha_1se``) marked, the nonzero count on the top axis."""
    ax = _axes(ax)
    x = _log_alphas(cv.alphas)
    ax.errorbar(x, cv.mean, yerr=cv.std_error, fmt="o", ms=3, color="tab:gray",
                ecolor="0.75", elinewidth=1, capsize=1.5, label="mean +- 1 SE over folds")
    _mark_rules(ax, cv.alpha_min, cv.alpha_1se)
    ax.set_xlabel("log10(alpha)")
    ax.set_ylabel(f"CV {cv.scoring}")
    ax.legend(fontsize=8, loc="best")
    if cv.path is not None:
        nonzero_axis(ax, x, cv.path.n_nonzero)
    return ax
