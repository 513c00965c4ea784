"""``penalized fit`` and ``penalized predict``: a user's CSV or Parquet file end to end."""

from __future__ import annotations

import io as _io
import os
import time
import warnings
from typing import Annotated, Literal

import numpy as np
import pandas as pd
import typer

from ...core.datafits import DATAFITS, LeastSquares, Logistic
from ...penalties import PENALTIES
from . import app
from ._output import Progress, log, print_json, print_table

Task = Literal["auto", "regression", "classification"]
PenaltyName = Literal[tuple(sorted(PENALTIES))]
Rule = Literal["min", "1se"]
Impute = Literal["none", "mean", "median"]


def make_penalty(name: str, l1_ratio: float | None):
    """A registry penalty; ``l1_ratio`` for the penalties that have one."""
    cls = PENALTIES[name]
    fields = {f.name for f in cls.__dataclass_fields__.values()}
    if l1_ratio is not None:
        if "l1_ratio" not in fields:
            raise ValueError(f"--l1-ratio applies to the elastic net, not to --penalty {name}")
        return cls(l1_ratio=l1_ratio)
    return cls()


def infer_task(y: np.ndarray, task: str) -> str:
    """``auto``: two distinct values or text labels is classification, else regression."""
    if task != "auto":
        return task
    values = pd.Series(y)
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return "classification"
    return "classification" if values.nunique() == 2 else "regression"


def datafit_for(task: str, y: np.ndarray):
    """The datafit for a task, with a clear error for unsupported targets."""
    if task == "regression":
        try:
            np.asarray(y, dtype=float)
        except (TypeError, ValueError):
            sample = pd.Series(y)
            bad = sample[pd.to_numeric(sample, errors="coerce").isna()].iloc[0]
            raise ValueError(f"--task regression needs a numeric target; found {bad!r}") \
                from None
        return LeastSquares()
    n_classes = pd.Series(y).nunique()
    if n_classes == 2:
        return Logistic()
    if n_classes > 2 and "multinomial" in DATAFITS:
        return DATAFITS["multinomial"]()
    raise ValueError(f"classification needs two classes in the target, found {n_classes}; "
                     "use --task regression for a numeric target")


def default_ratio(n_samples: int, n_features: int, penalty) -> float:
    """glmnet's lambda.min.ratio (1e-4 if n > p else 1e-2), lower for ridge's high top."""
    ratio = 1e-4 if n_samples > n_features else 1e-2
    r = getattr(penalty, "ratio", 1.0)
    return ratio * (1e-3 if r == 0 else 1.0)


FIT_EPILOG = (
    "Examples:\n\n\b\n"
    "  penalized fit houses.csv --target price\n"
    "  penalized fit churn.parquet --target churned --penalty elasticnet --l1-ratio 0.5 "
    "--cv 10 --rule 1se --out run/ --json\n"
    "  penalized fit data.csv --target y --sep ';' --impute median --no-standardize"
)


def _option(*names, **kwargs):
    return typer.Option(*names, **kwargs)


@app.command(epilog=FIT_EPILOG)
def fit(
    data: Annotated[str, typer.Argument(help="CSV (separator sniffed) or Parquet file.")],
    target: Annotated[str, _option("--target", "-t", help="Column to predict.")],
    task: Annotated[Task, _option(
        "--task", help="auto: two values or text labels = classification.")] = "auto",
    penalty: Annotated[PenaltyName, _option(
        "--penalty", "-p", help="Penalty from the registry.")] = "l1",
    l1_ratio: Annotated[float | None, _option(
        "--l1-ratio", min=0.0, max=1.0, help="Elastic-net mixing (1 = L1, 0 = L2).")] = None,
    cv: Annotated[int, _option("--cv", min=2, help="Number of folds (shuffled K-fold).")] = 5,
    rule: Annotated[Rule, _option(
        "--rule", help="alpha_min (best mean) or alpha_1se (largest within 1 SE).")] = "min",
    n_alphas: Annotated[int, _option("--n-alphas", min=2, help="Alphas on the path.")] = 100,
    alpha_min_ratio: Annotated[float | None, _option(
        "--alpha-min-ratio", min=0.0,
        help="Smallest alpha / alpha_max (default: glmnet's).")] = None,
    standardize: Annotated[bool, _option(
        "--standardize/--no-standardize",
        help="Scale features to unit variance inside every fold; coefficients reported in "
             "original units.")] = True,
    impute: Annotated[Impute, _option(
        "--impute", help="Fill missing feature values (else they are an error).")] = "none",
    sep: Annotated[str | None, _option(
        "--sep", help="Force the CSV separator (e.g. ';' or tab).")] = None,
    out: Annotated[str | None, _option(
        "--out", "-o", help="Model folder (default: ./penalized-<file name>/).")] = None,
    report: Annotated[bool, _option("--report/--no-report", help="Write report.html.")] = True,
    seed: Annotated[int, _option("--seed", help="Seed of the fold shuffling.")] = 0,
    as_json: Annotated[bool, _option("--json", help="Print the result as JSON.")] = False,
    quiet: Annotated[bool, _option("--quiet", "-q", help="No progress or logs.")] = False,
    dask: Annotated[str | None, _option(
        "--dask", help="Run the CV on a Dask cluster: tcp://host:8786, or local / local:N "
                       "worker processes on this machine.")] = None,
    checkpoint: Annotated[str | None, _option(
        "--checkpoint", help="Folder storing every finished fold (see --resume).")] = None,
    resume: Annotated[bool, _option(
        "--resume", help="Continue the run stored in --checkpoint (same data and options): "
                         "finished folds are not fitted again.")] = False,
) -> None:
    """Fit a penalized model on a table; alpha by K-fold CV; write the model and a report.

    The task is inferred from the target unless --task is given: least squares
    for regression, logistic for two classes. Identifier-like text columns are
    set aside, other text columns one-hot encoded, rows without a target dropped.
    """
    from ..io import prepare_table, read_table
    from ..persistence import save_linear_model
    from ._dask import cluster_run
    from ._model import cross_validated_model, edge_warning

    start = time.perf_counter()
    frame = read_table(data, sep=sep)
    table = prepare_table(frame, target, impute=impute)
    for note in table.notes:
        log(note, quiet)
    task = infer_task(table.y, task)
    datafit = datafit_for(task, table.y)
    pen = make_penalty(penalty, l1_ratio)
    n, p = table.X.shape
    ratio = alpha_min_ratio or default_ratio(n, p, pen)
    if not 0 < ratio < 1:
        raise ValueError(f"--alpha-min-ratio must be in (0, 1), got {ratio}")
    log(f"{n} rows x {p} features; {task} ({type(datafit).__name__}), {pen!r}, {cv}-fold CV "
        f"over {n_alphas} alphas", quiet)
    with warnings.catch_warnings(record=True) as caught, \
            cluster_run(dask, checkpoint, resume, quiet) as client, Progress(quiet) as progress:
        warnings.simplefilter("always")
        run = cross_validated_model(
            table.X, table.y, datafit, pen, name=f"{type(datafit).__name__} + {pen.name}",
            feature_names=table.feature_names, cv=cv, n_alphas=n_alphas,
            alpha_min_ratio=ratio, rule=rule, standardize=standardize, seed=seed,
            progress=progress, client=client, checkpoint=checkpoint)
    messages = sorted({str(w.message).splitlines()[0] for w in caught
                       if "numba" not in str(w.filename)})
    edge = edge_warning(run)
    for message in messages + ([edge] if edge else []):
        log(f"warning: {message}", quiet)
    folder = out or f"penalized-{os.path.splitext(os.path.basename(data))[0]}"
    cvr = run.cv
    extra = {"rule": rule, "cv": {"folds": cv, "scoring": cvr.scoring, "seed": seed,
                                  "alpha_min": cvr.alpha_min, "alpha_1se": cvr.alpha_1se},
             "standardize": standardize, "source": os.path.basename(data),
             "rows": {"read": table.n_rows_read, "dropped": table.n_rows_dropped, "used": n}}
    save_linear_model(
        folder, coef=run.coef, intercept=run.intercept, feature_spec=table.spec.to_dict(),
        task=task, datafit=datafit.name, penalty=pen.name, alpha=run.alpha,
        l1_ratio=float(getattr(pen, "ratio", 1.0)), classes=run.classes, extra=extra,
        extra_arrays={"alphas": cvr.alphas, "cv_mean": cvr.mean, "cv_std_error": cvr.std_error,
                      "path_coefs": cvr.path.coefs, "path_intercepts": cvr.path.intercepts})
    report_path = None
    if report:
        report_path = _write_fit_report(folder, data, table, run, task)
    elapsed = time.perf_counter() - start
    result = {
        "model": folder, "report": report_path, "task": task, "penalty": pen.name,
        "l1_ratio": float(getattr(pen, "ratio", 1.0)), "rule": rule, "alpha": run.alpha,
        "alpha_min": cvr.alpha_min, "alpha_1se": cvr.alpha_1se, "cv_scoring": cvr.scoring,
        "cv_score": float(cvr.mean[run.index]), "cv_std_error": float(cvr.std_error[run.index]),
        "n_nonzero": run.n_nonzero, "n_features": p, "rows_used": n,
        "rows_dropped": table.n_rows_dropped, "set_aside": table.spec.set_aside,
        "intercept": run.intercept, "seconds": round(elapsed, 3),
        "coefficients": {name: float(c) for name, c in zip(run.feature_names, run.coef,
                                                           strict=True) if c != 0},
    }
    if as_json:
        print_json(result)
        return
    keys = ("task", "penalty", "l1_ratio", "rule", "alpha", "alpha_min", "alpha_1se",
            "cv_scoring", "cv_score", "cv_std_error", "n_nonzero", "n_features", "rows_used",
            "rows_dropped", "seconds")
    print_table([{"quantity": k, "value": result[k]} for k in keys],
                title=f"penalized fit {os.path.basename(data)} --target {target}")
    top = sorted(result["coefficients"].items(), key=lambda kv: -abs(kv[1]))[:15]
    print_table([{"feature": k, "coefficient": v} for k, v in top],
                title=f"largest coefficients (original units; {p - run.n_nonzero} of {p} "
                      "exactly zero)")
    print(f"model: {folder}" + (f"\nreport: {report_path}" if report_path else ""))


def _write_fit_report(folder: str, data: str, table, run, task: str) -> str:
    from .. import report

    spec = table.spec
    summary = {"file": os.path.basename(data), "target": spec.target, "task": task,
               "rows read": table.n_rows_read, "rows dropped (missing target)":
               table.n_rows_dropped, "rows used": table.X.shape[0],
               "numeric columns": len(spec.numeric),
               "one-hot encoded columns": ", ".join(
                   f"{c} ({len(v)} levels)" for c, v in spec.categorical.items()) or "none",
               "columns set aside": ", ".join(spec.set_aside) or "none",
               "imputation": spec.impute, "features": len(spec.feature_names)}
    sections = [report.data_section(summary, table.notes),
                report.linear_section(run, n_samples=table.X.shape[0])]
    path = os.path.join(folder, "report.html")
    report.write_report(path, f"penalized fit: {os.path.basename(data)}", sections)
    return path


@app.command(epilog="Examples:\n\n\b\n  penalized predict run/ new.csv --out predictions.csv\n"
                    "  penalized predict run/ new.parquet > predictions.csv")
def predict(
    model: Annotated[str, typer.Argument(help="Model folder written by 'penalized fit'.")],
    data: Annotated[str, typer.Argument(help="CSV or Parquet file with the training columns.")],
    out: Annotated[str | None, _option(
        "--out", "-o", help="Output CSV (default: stdout).")] = None,
    sep: Annotated[str | None, _option("--sep", help="Force the input CSV separator.")] = None,
) -> None:
    """Predict with a saved model; writes a CSV with a prediction column (and probability).

    Identifier columns that were set aside at training time are copied in front,
    so that predictions can be joined back.
    """
    from ..io import read_table
    from ..persistence import atomic_write_text, load

    saved = load(model)
    frame = read_table(data, sep=sep)
    output = pd.DataFrame(index=frame.index)
    for col in saved.spec.set_aside:
        if col in frame.columns:
            output[col] = frame[col]
    output["prediction"] = saved.predict(frame)
    if saved.manifest["task"] == "classification":
        output[f"probability_{saved.classes[1]}"] = saved.predict_proba(frame)
    buffer = _io.StringIO()
    output.to_csv(buffer, index=False)
    if out:
        atomic_write_text(out, buffer.getvalue())
        log(f"{frame.shape[0]} predictions written to {out}")
    else:
        print(buffer.getvalue(), end="")
