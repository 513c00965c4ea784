"""One self-contained HTML report: figures embedded as PNG data URIs, no network.

A Content-Security-Policy in the page forbids every external load, so a
report that displays is a report that is complete. Every user-provided string
(column names, file names) is HTML-escaped.

Sections are built by :func:`linear_section` (a cross-validated linear model:
path, CV curve, coefficients, conventions), :func:`mlp_section` (networks:
loss curves and weight histograms) and :func:`data_section`; :func:`render`
assembles them and :func:`write_report` writes the file atomically.
"""

from __future__ import annotations

import datetime
import html
import numbers

import numpy as np

from ... import conventions
from ..._version import __version__
from ..persistence import atomic_write_text
from . import figures

__all__ = ["data_section", "linear_section", "mlp_section", "render", "write_report"]

OBJECTIVE = (
    "minimize over w, b:   (1/n) &sum;<sub>i</sub> loss(y<sub>i</sub>, x<sub>i</sub>&middot;w "
    "+ b) + alpha &middot; P(w)<br>loss = (y &minus; z)&sup2; / 2 (least squares) or "
    "log(1 + exp(&minus;y z)) with y &isin; {&minus;1, +1} (logistic) or "
    "&minus;log softmax(z)<sub>y</sub> (multinomial: one column of w per class, P summed "
    "over them); "
    "P = ||w||<sub>1</sub> (L1), ||w||&sup2;/2 (L2), r||w||<sub>1</sub> + (1 &minus; r)"
    "||w||&sup2;/2 (elastic net, r = l1_ratio), or MCP / SCAD (non-convex: the lasso's "
    "slope alpha at 0, flat beyond gamma &middot; alpha; there alpha &middot; P(w) stands "
    "for the penalty itself). The intercept is not penalized. "
    "This is scikit-learn's Lasso scaling."
)

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1000px;
margin:0 auto;padding:1rem 1.5rem;color:#222;line-height:1.45}
h1{font-size:1.5rem}h2{font-size:1.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem;
margin-top:2rem}h3{font-size:1rem}
img{max-width:100%;height:auto;display:block;margin:.5rem 0}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}
th{background:#f5f5f5}.num{text-align:right;font-variant-numeric:tabular-nums}
.objective{background:#f8f8f8;padding:.6rem;border-left:3px solid #888;font-size:.9rem}
.note{color:#555;font-size:.85rem}
"""

# marks <body data-images="ok"> once every image has decoded (the report test reads it)
CHECK_SCRIPT = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images-loaded', ok + '/' + imgs.length);
  document.body.setAttribute('data-images', ok === imgs.length ? 'ok' : 'broken');
});
"""

CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
       "script-src 'unsafe-inline'")


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value) -> str:
    if isinstance(value, bool) or value is None:
        return _e(value)
    if isinstance(value, numbers.Integral):
        return f"{int(value)}"
    if isinstance(value, numbers.Real):
        return f"{float(value):.4g}"
    return _e(value)


def _table(rows: list[dict], columns: list[str] | None = None) -> str:
    if not rows:
        return ""
    columns = columns or list(rows[0])
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for c in columns:
            v = row.get(c, "")
            cls = ' class="num"' if isinstance(v, numbers.Number) else ""
            cells.append(f"<td{cls}>{_fmt(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _img(fig, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="{figures.to_data_uri(fig)}">'


def _anchor(name: str) -> str:
    return "s-" + "".join(ch if ch.isalnum() else "-" for ch in name.lower())


def conventions_rows(alpha: float, l1_ratio: float, n_samples: int, datafit: str) -> list[dict]:
    """The chosen alpha in other libraries' terms (a reason where none exists)."""
    values = conventions.convert_all(alpha, "penalized", l1_ratio=l1_ratio,
                                     n_samples=n_samples, datafit=datafit)
    rows = []
    for name, value in values.items():
        conv = conventions.CONVENTIONS.get(name)
        rows.append({"convention": name,
                     "parameter": conv.parameter if conv else "weight_decay",
                     "value": value, "meaning": conv.description if conv else ""})
    return rows


def _coefficient_rows(run) -> list[dict]:
    """Nonzero coefficients in original units, largest (standardized) first."""
    coef = run.coef
    size = np.abs(coef * run.scale) if coef.ndim == 1 else \
        np.linalg.norm(coef * run.scale[:, None], axis=1)
    rows = []
    for j in np.argsort(-size):
        if coef.ndim == 1 and coef[j] != 0:
            rows.append({"feature": run.feature_names[j], "coefficient": float(coef[j])})
        elif coef.ndim == 2 and np.any(coef[j] != 0):
            rows.append({"feature": run.feature_names[j],
                         **{f"class {c}": float(v) for c, v in zip(run.classes, coef[j],
                                                                   strict=True)}})
    return rows


def metrics_html(metrics: dict, classes=None) -> str:
    """Cross-validated metrics and, for classification, the confusion matrix."""
    if not metrics:
        return ""
    plain = [{"metric": k, "value": v} for k, v in metrics.items() if k != "confusion"]
    parts = ["<h3>Cross-validated performance at the chosen alpha</h3>",
             '<p class="note">Every row predicted by the fold model that did not see it.</p>',
             _table(plain)]
    if "confusion" in metrics and classes is not None:
        matrix = np.asarray(metrics["confusion"])
        rows = [{"true \\ predicted": str(c), **{str(d): int(v) for d, v in
                                                 zip(classes, matrix[i], strict=True)}}
                for i, c in enumerate(classes)]
        parts += ["<h3>Confusion matrix (out of fold)</h3>", _table(rows)]
    return "\n".join(parts)


def linear_section(run, *, n_samples: int, metrics: dict | None = None) -> str:
    """Path, CV curve, coefficients and conventions of one cross-validated linear model.

    ``run`` is a :class:`penalized.app.cli._model.ModelRun` (or anything with its
    attributes: ``name``, ``cv``, ``rule``, ``coef``, ``intercept``,
    ``feature_names``, ``standardize``, ``scale``, ``alpha``, ``penalty``...).
    ``metrics`` (from :func:`penalized.app.cli._model.cross_validated_metrics`) adds
    the cross-validated metrics and the confusion matrix. Multiclass coefficients are
    drawn as their norm over classes and tabulated class by class.
    """
    cv, path = run.cv, run.cv.path
    name = run.name
    multiclass = run.coef.ndim == 2
    shape = (1, -1, 1) if multiclass else (1, -1)
    scaled = path.coefs * run.scale.reshape(shape) if run.standardize else path.coefs
    unit = "standardized units" if run.standardize else "original units"
    ylabel = ("norm over classes" if multiclass else "coefficient") + f" ({unit})"
    if multiclass:
        scaled = np.linalg.norm(scaled, axis=2)
    parts = [f'<h2 id="{_anchor(name)}">{_e(name)}</h2>']
    penalty = run.penalty
    ratio = float(penalty.ratio) if penalty.elastic_net_family else 1.0
    summary = {
        "datafit": type(path.datafit).__name__, "penalty": repr(penalty.with_alpha(run.alpha)),
        "rule": run.rule, "alpha_min": cv.alpha_min, "alpha_1se": cv.alpha_1se,
        "chosen alpha": run.alpha, "nonzero": f"{run.n_nonzero} of {len(run.coef)}",
        "intercept": run.intercept if np.ndim(run.intercept) == 0 else
        ", ".join(f"{c}: {b:.4g}" for c, b in zip(run.classes, run.intercept, strict=True)),
        "CV score": f"{cv.scoring} {cv.mean[run.index]:.4g} ± {cv.std_error[run.index]:.2g}",
        "folds": cv.fold_scores.shape[0], "alphas": cv.alphas.shape[0],
        "standardized inside folds": run.standardize, "seconds": round(run.seconds, 2),
    }
    if run.classes is not None and len(run.classes) == 2:
        summary["positive class"] = str(run.classes[1])
    if run.test_score is not None:
        summary[f"test {run.test_metric}"] = run.test_score
    parts.append(_table([{"quantity": k, "value": v} for k, v in summary.items()]))
    parts.append(metrics_html(metrics or {}, run.classes))
    parts.append(_img(figures.path_figure(
        cv.alphas, scaled, run.feature_names, alpha_min=cv.alpha_min, alpha_1se=cv.alpha_1se,
        title=f"{name}: coefficient path", ylabel=ylabel), f"{name} coefficient path"))
    parts.append(_img(figures.cv_figure(
        cv.alphas, cv.mean, cv.std_error, alpha_min=cv.alpha_min, alpha_1se=cv.alpha_1se,
        scoring=cv.scoring, title=f"{name}: {cv.fold_scores.shape[0]}-fold CV"),
        f"{name} cross-validation curve"))
    bars = run.coef * (run.scale[:, None] if multiclass else run.scale) if run.standardize \
        else run.coef
    if multiclass:
        bars = np.linalg.norm(bars, axis=1)
    parts.append(_img(figures.coefficient_figure(
        bars, run.feature_names, title=f"{name} at alpha = {run.alpha:.3g} ({unit}"
        + (", norm over classes)" if multiclass else ")")), f"{name} coefficients"))
    rows = _coefficient_rows(run)
    n_zero = len(run.coef) - run.n_nonzero
    snapped = getattr(run, "n_snapped", 0)
    parts.append(f"<details open><summary>Nonzero coefficients (original units; {n_zero} "
                 f"exactly zero)</summary>{_table(rows[:50])}"
                 + (f'<p class="note">{snapped} coefficient(s) smaller than 1e-8 times the '
                    "largest (standardized units) were set to exactly zero: numerical residue "
                    "(e.g. of collinear one-hot columns), not selected features.</p>"
                    if snapped else "") + "</details>")
    if not penalty.elastic_net_family:  # the conversions are the elastic net's
        return "\n".join(parts)
    if path.datafit.task != "classification" and not path.datafit.quadratic:
        # the conventions are those of least squares and of the cross-entropies
        parts.append(f'<p class="note">No other library\'s alpha convention is tabulated for '
                     f"{_e(type(path.datafit).__name__)}: alpha is the strength of "
                     "(1/n) sum loss + alpha P(w), as for the others.</p>")
        return "\n".join(parts)
    datafit_name = "logistic" if path.datafit.task == "classification" else "leastsquares"
    parts.append("<h3>The chosen alpha in other conventions</h3>")
    parts.append(
        f'<p class="note">n = {n_samples} training rows; l1_ratio = {ratio:g}. '
        + ("Columns were standardized before fitting, so alpha refers to standardized "
           "features (glmnet's default <code>standardize=TRUE</code>); scikit-learn on the "
           "raw columns needs per-feature scaling first. " if run.standardize else "")
        + "Keras and PyTorch values assume their unhalved MSE for least squares.</p>")
    parts.append(_table(conventions_rows(run.alpha, ratio, n_samples, datafit_name)))
    return "\n".join(parts)


def mlp_section(results: list[dict], *, title: str = "Penalized neural network") -> str:
    """Loss curves, weight histograms and a table for networks trained with several penalties.

    Each result is a dict with ``name``, ``history`` (``train_loss``, ``val_loss``
    lists), ``weights`` (an array of the weights to histogram) and any scalar
    columns for the table (``test_accuracy``, ``zero_fraction``, ``alpha``...).
    """
    parts = [f'<h2 id="{_anchor(title)}">{_e(title)}</h2>']
    table = [{k: v for k, v in r.items() if k not in ("history", "weights")} for r in results]
    parts.append(_table(table))
    histories = {r["name"]: r.get("history", {}) for r in results if r.get("history")}
    if histories:
        parts.append(_img(figures.loss_curves_figure(histories), "loss per epoch"))
    weights = {r["name"]: r["weights"] for r in results if r.get("weights") is not None}
    if weights:
        parts.append(_img(figures.weight_histogram_figure(weights), "weight histograms"))
    return "\n".join(parts)


def data_section(summary: dict, notes: list[str] | None = None,
                 title: str = "Data") -> str:
    """Rows used, rows dropped, columns set aside, encodings (a table and notes)."""
    parts = [f'<h2 id="{_anchor(title)}">{_e(title)}</h2>',
             _table([{"item": k, "value": v} for k, v in summary.items()])]
    if notes:
        parts.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    return "\n".join(parts)


def render(title: str, sections: list[str], *, intro: str = "") -> str:
    """The whole page (sections are HTML fragments from the functions above)."""
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{CSS}</style></head>
<body>
<h1>{_e(title)}</h1>
<p class="note">penalized {_e(__version__)}, {stamp}. {_e(intro)}</p>
<h2>The objective</h2>
<div class="objective">{OBJECTIVE}</div>
{''.join(sections)}
<script>{CHECK_SCRIPT}</script>
</body></html>
"""


def write_report(path, title: str, sections: list[str], *, intro: str = "") -> str:
    """Render and write the report atomically; returns the path."""
    atomic_write_text(path, render(title, sections, intro=intro))
    return str(path)
