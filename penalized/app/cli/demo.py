"""``penalized demo``: the whole story on data shipped with scikit-learn (no download).

1. Least squares on diabetes with L1, L2 and the elastic net: paths and 5-fold CV.
2. Logistic L1 on breast cancer.
3. An MLP on digits with no penalty, L2, and L1 through the proximal step (if torch
   is installed).

Each linear model is cross-validated on a training split (75%, standardized
inside the folds) and scored on the held-out 25%; a summary table goes to
stdout and the report to ``penalized-demo/report.html``.
"""

from __future__ import annotations

import os
import time
import warnings
from typing import Annotated

import numpy as np
import typer

from . import app
from ._output import Progress, log, print_json, print_table

MLP_ALPHA = 1e-3


def _linear_runs(progress, quick: bool) -> tuple[list, dict]:
    from sklearn.datasets import load_breast_cancer, load_diabetes
    from sklearn.model_selection import train_test_split

    from ...core.datafits import LeastSquares, Logistic
    from ...penalties import L1, L2, ElasticNet
    from ._model import cross_validated_model

    n_alphas = 30 if quick else 100
    runs, data = [], {}
    diabetes = load_diabetes()
    X_tr, X_te, y_tr, y_te = train_test_split(diabetes.data, diabetes.target,
                                              test_size=0.25, random_state=0)
    data["diabetes"] = (X_tr.shape[0], X_te.shape[0], X_tr.shape[1])
    for penalty, ratio in ((L1(), 1e-3), (L2(), None), (ElasticNet(l1_ratio=0.5), 1e-4)):
        run = cross_validated_model(
            X_tr, y_tr, LeastSquares(), penalty, name=f"diabetes: least squares + {penalty.name}",
            feature_names=list(diabetes.feature_names), n_alphas=n_alphas,
            alpha_min_ratio=ratio, progress=progress)
        prediction = run.predict(X_te)
        run.test_score = float(1 - np.sum((y_te - prediction) ** 2)
                               / np.sum((y_te - y_te.mean()) ** 2))
        run.test_metric = "R^2"
        runs.append(run)
    cancer = load_breast_cancer()
    X_tr, X_te, y_tr, y_te = train_test_split(cancer.data, cancer.target, test_size=0.25,
                                              random_state=0, stratify=cancer.target)
    data["breast cancer"] = (X_tr.shape[0], X_te.shape[0], X_tr.shape[1])
    run = cross_validated_model(
        X_tr, y_tr, Logistic(), L1(), name="breast cancer: logistic + l1",
        feature_names=list(cancer.feature_names), n_alphas=n_alphas, alpha_min_ratio=1e-3,
        progress=progress)
    run.test_score = float(np.mean(run.predict(X_te) == y_te))
    run.test_metric = "accuracy"
    runs.append(run)
    return runs, data


def _mlp_runs(progress, quick: bool) -> list[dict] | None:
    try:
        import torch

        from ...torch.mlp import MLPClassifier
    except ImportError:
        return None
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from ...penalties import L1, L2

    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    base = dict(hidden_layer_sizes=(64,), batch_size=64, learning_rate=1e-3,
                max_epochs=25 if quick else 60, n_iter_no_change=10, early_stopping=True,
                validation_fraction=0.15, random_state=0)
    models = [("no penalty", None, 0.0), ("L2", L2(), MLP_ALPHA),
              ("L1 proximal", L1(), MLP_ALPHA)]
    results = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # fastest for a network this small
    try:
        for k, (name, penalty, alpha) in enumerate(models):
            progress(k, len(models), f"digits MLP: {name}")
            start = time.perf_counter()
            model = MLPClassifier(penalty=penalty, alpha=alpha, **base).fit(X_tr, y_tr)
            history = model.history_
            results.append({
                "name": name, "penalty": "none" if penalty is None else penalty.name,
                "alpha": alpha, "test_accuracy": float(model.score(X_te, y_te)),
                "train_accuracy": float(model.score(X_tr, y_tr)),
                "first_layer_zeros": float(np.mean(model.coefs_[0] == 0)),
                "epochs": int(model.n_iter_), "seconds": round(time.perf_counter() - start, 2),
                "history": {"train_loss": list(history.get("train_loss", [])),
                            "val_loss": list(history.get("validation_loss", []))},
                "weights": np.asarray(model.coefs_[0]),
            })
        progress(len(models), len(models), "digits MLP: done")
    finally:
        torch.set_num_threads(threads)
    return results


def _summary_rows(runs, mlps) -> list[dict]:
    rows = []
    for run in runs:
        rows.append({"model": run.name, "alpha_min": run.cv.alpha_min,
                     "alpha_1se": run.cv.alpha_1se,
                     "nonzero": f"{run.n_nonzero}/{len(run.coef)}",
                     "test": f"{run.test_metric} {run.test_score:.3f}",
                     "seconds": round(run.seconds, 1)})
    for m in mlps or []:
        rows.append({"model": f"digits MLP: {m['name']}",
                     "alpha_min": m["alpha"] or None, "alpha_1se": None,
                     "nonzero": f"{100 * (1 - m['first_layer_zeros']):.0f}% of layer 1",
                     "test": f"accuracy {m['test_accuracy']:.3f}",
                     "seconds": m["seconds"]})
    return rows


def _report(path: str, runs, data, mlps) -> str:
    from .. import report

    summary = {name: f"{tr} training rows, {te} test rows, {p} features"
               for name, (tr, te, p) in data.items()}
    if mlps is not None:
        summary["digits"] = "1437 training rows (15% of them for validation), 360 test rows, " \
                            "64 features; network 64 -> 64 (ReLU) -> 10"
    sections = [report.data_section(summary, ["Linear models: 75/25 split, alpha by 5-fold CV "
                                              "on the training part, features standardized "
                                              "inside the folds."])]
    sections += [report.linear_section(run, n_samples=data[run.name.split(":")[0]][0])
                 for run in runs]
    if mlps:
        sections.append(report.mlp_section(
            mlps, title=f"Digits MLP: no penalty, L2 and proximal L1 (alpha = {MLP_ALPHA:g})"))
    else:
        sections.append("<h2>Digits MLP</h2><p>PyTorch is not installed: "
                        "<code>pip install -e \".[torch]\"</code> adds this part.</p>")
    return report.write_report(path, "penalized demo", sections,
                               intro="Built-in scikit-learn data; no download.")


@app.command(epilog="Examples:\n\n\b\n  penalized demo\n  penalized demo --quick --json\n"
                    "  penalized demo --out demo-run/ --no-torch")
def demo(
    out: Annotated[str, typer.Option("--out", "-o", help="Folder for the report.")] =
    "penalized-demo",
    quick: Annotated[bool, typer.Option("--quick", help="Shorter grids and training.")] = False,
    use_torch: Annotated[bool, typer.Option("--torch/--no-torch",
                                            help="Include the MLP on digits.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or logs.")] = False,
) -> None:
    """Run the demo on built-in data: paths, CV, a penalized MLP, a summary and a report."""
    start = time.perf_counter()
    with warnings.catch_warnings(), Progress(quiet) as progress:
        warnings.simplefilter("ignore")
        runs, data = _linear_runs(progress, quick)
        mlps = _mlp_runs(progress, quick) if use_torch else None
    if use_torch and mlps is None:
        log("torch is not installed: skipping the MLP part (pip install -e \".[torch]\")", quiet)
    path = _report(os.path.join(out, "report.html"), runs, data, mlps)
    rows = _summary_rows(runs, mlps)
    elapsed = time.perf_counter() - start
    if as_json:
        print_json({"models": rows, "report": path, "seconds": round(elapsed, 2)})
        return
    print_table(rows, title="penalized demo (chosen alpha by min and 1se rules, test scores "
                            "on held-out data)")
    print(f"report: {path}  ({elapsed:.1f} s)")
