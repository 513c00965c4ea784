"""Matplotlib figures of the report (the Agg backend: no display needed).

Every function returns a :class:`matplotlib.figure.Figure`; :func:`to_data_uri`
turns one into an embeddable ``data:image/png;base64,...`` string and closes it.
"""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ...workflows.plots import nonzero_axis  # noqa: E402

__all__ = ["coefficient_figure", "cv_figure", "loss_curves_figure", "path_figure",
           "to_data_uri", "weight_histogram_figure"]

MAX_LABELLED_PATHS = 10
MAX_BARS = 30


def to_data_uri(fig: Figure, dpi: int = 100) -> str:
    """PNG bytes of ``fig`` as a data URI (the figure is closed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _mark_alphas(ax, alpha_min: float | None, alpha_1se: float | None) -> None:
    if alpha_min is not None:
        ax.axvline(np.log10(alpha_min), color="tab:red", ls="--", lw=1,
                   label=f"alpha_min = {alpha_min:.3g}")
    if alpha_1se is not None:
        ax.axvline(np.log10(alpha_1se), color="tab:blue", ls=":", lw=1.5,
                   label=f"alpha_1se = {alpha_1se:.3g}")


def path_figure(alphas, coefs, feature_names, *, alpha_min=None, alpha_1se=None,
                title: str = "Coefficient path", ylabel: str = "coefficient") -> Figure:
    """Coefficients against log10(alpha), nonzero counts on the top axis.

    Parameters
    ----------
    alphas : ndarray of shape (n_alphas,)
    coefs : ndarray of shape (n_alphas, n_features)
    feature_names : list of str
        The largest few paths are labelled.
    """
    alphas = np.asarray(alphas, dtype=float)
    coefs = np.asarray(coefs, dtype=float)
    log_alphas = np.log10(np.maximum(alphas, np.finfo(float).tiny))
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    ax.plot(log_alphas, coefs, lw=1)
    ax.axhline(0.0, color="0.6", lw=0.5)
    order = np.argsort(-np.abs(coefs[-1]))[:MAX_LABELLED_PATHS]
    for j in order:
        if coefs[-1, j] != 0:
            ax.annotate(str(feature_names[j])[:24], (log_alphas[-1], coefs[-1, j]),
                        fontsize=7, xytext=(3, 0), textcoords="offset points", va="center")
    _mark_alphas(ax, alpha_min, alpha_1se)
    ax.set_xlabel("log10(alpha)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10, pad=28)
    if alpha_min is not None or alpha_1se is not None:
        ax.legend(fontsize=8, loc="best")
    nonzero_axis(ax, log_alphas, np.count_nonzero(coefs, axis=1))
    return fig


def cv_figure(alphas, mean, std_error, *, alpha_min=None, alpha_1se=None,
              scoring: str = "score", title: str = "Cross-validation") -> Figure:
    """Mean CV score with +-1 standard-error bars against log10(alpha)."""
    log_alphas = np.log10(np.maximum(np.asarray(alphas, dtype=float), np.finfo(float).tiny))
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    ax.errorbar(log_alphas, mean, yerr=std_error, fmt="o", ms=3, color="tab:gray",
                ecolor="0.75", elinewidth=1, capsize=1.5, label="mean +- 1 SE over folds")
    _mark_alphas(ax, alpha_min, alpha_1se)
    ax.set_xlabel("log10(alpha)")
    ax.set_ylabel(f"CV {scoring}")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="best")
    return fig


def coefficient_figure(coef, feature_names, *, title: str = "Coefficients") -> Figure:
    """Nonzero coefficients, largest in absolute value first (zeros counted in the title)."""
    coef = np.asarray(coef, dtype=float)
    nonzero = np.flatnonzero(coef)
    order = nonzero[np.argsort(-np.abs(coef[nonzero]))][:MAX_BARS]
    n_zero = coef.shape[0] - nonzero.shape[0]
    fig, ax = plt.subplots(figsize=(7.5, 0.8 + 0.25 * max(len(order), 2)))
    labels = [str(feature_names[j])[:40] for j in order]
    colors = ["tab:blue" if coef[j] > 0 else "tab:red" for j in order]
    ax.barh(np.arange(len(order))[::-1], coef[order], color=colors)
    ax.set_yticks(np.arange(len(order))[::-1])
    ax.set_yticklabels(labels, fontsize=8)
    ax.axvline(0.0, color="0.4", lw=0.5)
    shown = "" if len(order) == nonzero.shape[0] else f", largest {len(order)} shown"
    ax.set_title(f"{title}: {nonzero.shape[0]} nonzero, {n_zero} exactly zero{shown}",
                 fontsize=10)
    if not len(order):
        ax.text(0.5, 0.5, "every coefficient is zero", transform=ax.transAxes, ha="center")
    return fig


def loss_curves_figure(histories: dict[str, dict]) -> Figure:
    """Training and validation loss per epoch, one line pair per penalty.

    ``histories`` maps a model name to a dict with ``train_loss`` and
    (optionally) ``val_loss`` lists.
    """
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for k, (name, history) in enumerate(histories.items()):
        color = f"C{k}"
        train = np.asarray(history.get("train_loss", []), dtype=float)
        ax.plot(np.arange(1, train.shape[0] + 1), train, color=color, label=f"{name} train")
        val = history.get("val_loss")
        if val is not None and len(val):
            val = np.asarray(val, dtype=float)
            ax.plot(np.arange(1, val.shape[0] + 1), val, color=color, ls="--",
                    label=f"{name} validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (without penalty)")
    ax.set_yscale("log")
    ax.set_title("Training and validation loss per epoch", fontsize=10)
    ax.legend(fontsize=8, ncol=2)
    return fig


def weight_histogram_figure(weights: dict[str, np.ndarray]) -> Figure:
    """Histogram of the network's weights, one panel per penalty, exact zeros counted."""
    names = list(weights)
    fig, axes = plt.subplots(1, max(len(names), 1), figsize=(7.5, 2.8), sharey=False,
                             squeeze=False)
    values = [np.asarray(weights[n], dtype=float).ravel() for n in names]
    finite = np.concatenate([v for v in values if v.size]) if values else np.zeros(1)
    bound = float(np.quantile(np.abs(finite), 0.995)) or 1.0
    bins = np.linspace(-bound, bound, 61)
    for ax, name, w in zip(axes[0], names, values, strict=False):
        ax.hist(np.clip(w, -bound, bound), bins=bins, color="tab:gray")
        zeros = np.count_nonzero(w == 0) / max(w.size, 1)
        ax.set_title(f"{name}\n{100 * zeros:.0f}% exactly zero", fontsize=9)
        ax.set_xlabel("weight", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_yscale("log")
    fig.tight_layout()
    return fig
