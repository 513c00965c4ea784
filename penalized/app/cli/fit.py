"""``penalized fit`` and ``penalized predict``: a user's CSV or Parquet file end to end."""

from __future__ import annotations

import dataclasses
import io as _io
import os
import time
import warnings
from typing import Annotated, Literal

import numpy as np
import pandas as pd
import typer

from ...core.datafits import DATAFITS, LeastSquares, Logistic
from ...penalties import PENALTIES, Penalty
from ...workflows.fitting import DEFAULT_TOL
from . import app
from ._output import Progress, log, print_json, print_table

Task = Literal["auto", "regression", "classification", "poisson", "huber"]
PenaltyName = Literal[tuple(sorted(PENALTIES))]
Rule = Literal["min", "1se"]
Impute = Literal["none", "mean", "median"]


def make_penalty(name: str, l1_ratio: float | None, gamma: float | None = None):
    """A registry penalty with the shape parameters given (``l1_ratio``, ``gamma``): each
    must be a field of that penalty, else one error naming those that have it."""
    cls = PENALTIES[name]
    given = {key: value for key, value in (("l1_ratio", l1_ratio), ("gamma", gamma))
             if value is not None}
    for key in given:
        if key not in cls.__dataclass_fields__:
            owners = "|".join(sorted(n for n, c in PENALTIES.items()
                                     if key in c.__dataclass_fields__))
            raise ValueError(f"--{key.replace('_', '-')} applies to --penalty {owners}, "
                             f"not to --penalty {name}")
    return cls(**given)


def l1_ratio_of(penalty) -> float | None:
    """The share of the L1 part for the penalties that have one as a parameter (the
    elastic-net family, the sparse group lasso), else None (group lasso, MCP, SCAD)."""
    if penalty.elastic_net_family:
        return float(penalty.ratio)
    ratio = getattr(penalty, "l1_ratio", None)
    return None if ratio is None else float(ratio)


def penalty_params(pen) -> dict:
    """The penalty's scalar shape parameters by name (``{"gamma": 3.0}``), for the JSON
    output and the saved model (arrays, such as a group penalty's groups, are left out)."""
    common = {f.name for f in dataclasses.fields(Penalty)}  # alpha, weights, positive...
    values = {f.name: getattr(pen, f.name) for f in dataclasses.fields(pen)
              if f.name not in common}
    return {k: v for k, v in values.items() if isinstance(v, int | float | str)}


def factor_groups(penalty, spec, group_factors: bool):
    """With ``--group-factors``, the penalty with one group per input column: the one-hot
    columns of a text column together, each numeric column alone (labels in the order
    of ``spec.feature_names``)."""
    if not group_factors:
        return penalty
    if not penalty.block_separable:
        raise ValueError(f"--group-factors applies to a group penalty (--penalty "
                         f"{' or '.join(n for n, c in PENALTIES.items() if c.block_separable)}"
                         f"), not to --penalty {penalty.name}")
    labels = list(spec.numeric) + [c for c in spec.categorical for _ in spec.encoded_levels(c)]
    return dataclasses.replace(penalty, groups=np.array(labels, dtype=object))


def infer_task(y: np.ndarray, task: str) -> str:
    """``auto``: two distinct values or text labels is classification, else regression."""
    if task != "auto":
        return task
    values = pd.Series(y)
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return "classification"
    return "classification" if values.nunique() == 2 else "regression"


#: the tasks named by a registry datafit of numeric targets (never inferred: counts
#: look like any numeric target, so ``--task poisson`` is the user's call)
DATAFIT_TASKS = {"poisson": "poisson", "huber": "huber"}


def datafit_for(task: str, y: np.ndarray):
    """The datafit for a task, with a clear error for unsupported targets."""
    if task == "regression" or task in DATAFIT_TASKS:
        try:
            np.asarray(y, dtype=float)
        except (TypeError, ValueError):
            sample = pd.Series(y)
            bad = sample[pd.to_numeric(sample, errors="coerce").isna()].iloc[0]
            raise ValueError(f"--task {task} needs a numeric target; found {bad!r}") \
                from None
        return DATAFITS[DATAFIT_TASKS[task]]() if task in DATAFIT_TASKS else LeastSquares()
    n_classes = pd.Series(y).nunique()
    if n_classes == 2:
        return Logistic()
    if n_classes > 2 and "multinomial" in DATAFITS:
        return DATAFITS["multinomial"]()
    raise ValueError(f"classification needs two classes in the target, found {n_classes}; "
                     "use --task regression for a numeric target")


def default_ratio(n_samples: int, n_features: int, penalty) -> float | None:
    """glmnet's lambda.min.ratio (1e-4 if n > p else 1e-2); None for a pure ridge, whose
    grid follows :func:`penalized.workflows.paths.default_grid` (as in pz.cross_validate)."""
    if penalty.elastic_net_family and penalty.ratio == 0:
        return None
    return 1e-4 if n_samples > n_features else 1e-2


FIT_EPILOG = (
    "Examples:\n\n\b\n"
    "  penalized fit houses.csv --target price\n"
    "  penalized fit churn.parquet --target churned --penalty elasticnet --l1-ratio 0.5 "
    "--cv 10 --rule 1se --out run/ --json\n"
    "  penalized fit data.csv --target y --sep ';' --impute median --no-standardize\n"
    "  penalized fit wages.csv --target wage --penalty group-lasso --group-factors\n"
    "  penalized fit data.csv --target y --penalty mcp --gamma 3"
)


def _option(*names, **kwargs):
    return typer.Option(*names, **kwargs)


@app.command(epilog=FIT_EPILOG)
def fit(
    data: Annotated[str, typer.Argument(
        help="CSV (separator sniffed) or Parquet file, or a folder or glob of Parquet files "
             "(in memory if it fits; with --dask, read by the workers, never whole: "
             "numeric features; least squares in one pass, classification and Poisson "
             "by a pass per Newton step).")],
    target: Annotated[str, _option("--target", "-t", help="Column to predict.")],
    task: Annotated[Task, _option(
        "--task", help="auto: two values or text labels = classification; poisson: "
                       "counts (log link); huber: robust regression.")] = "auto",
    penalty: Annotated[PenaltyName, _option(
        "--penalty", "-p", help="Penalty from the registry.")] = "l1",
    l1_ratio: Annotated[float | None, _option(
        "--l1-ratio", min=0.0, max=1.0, help="Elastic-net mixing (1 = L1, 0 = L2).")] = None,
    group_factors: Annotated[bool, _option(
        "--group-factors", help="Group penalties: the one-hot columns of each text column "
                                "form one group (numeric columns: a group each).")] = False,
    gamma: Annotated[float | None, _option(
        "--gamma", help="Concavity of --penalty mcp (> 1, default 3) or scad (> 2, default "
                        "3.7): flat beyond gamma * alpha.")] = None,
    cv: Annotated[int, _option("--cv", min=2, help="Number of folds (shuffled K-fold).")] = 5,
    stratify: Annotated[bool, _option(
        "--stratify/--no-stratify",
        help="Folds keep the class proportions (classification; the default there).")] = True,
    tol: Annotated[float, _option(
        "--tol", help="Solver tolerance (duality gap relative to the objective).")] = DEFAULT_TOL,
    max_iter: Annotated[int | None, _option(
        "--max-iter", min=1, help="Solver iterations per alpha (default: the solver's).")] = None,
    rule: Annotated[Rule, _option(
        "--rule", help="alpha_min (best mean) or alpha_1se (largest within 1 SE).")] = "min",
    n_alphas: Annotated[int, _option("--n-alphas", min=2, help="Alphas on the path.")] = 100,
    alpha_min_ratio: Annotated[float | None, _option(
        "--alpha-min-ratio",
        help="Smallest alpha / alpha_max (default: glmnet's; for l2, the ridge rule).")] = None,
    standardize: Annotated[bool, _option(
        "--standardize/--no-standardize",
        help="Scale features to unit variance inside every fold; coefficients reported in "
             "original units.")] = True,
    impute: Annotated[Impute, _option(
        "--impute", help="Fill missing feature values (else they are an error).")] = "none",
    sep: Annotated[str | None, _option(
        "--sep", help="Force the CSV separator (e.g. ';' or tab).")] = None,
    decimal: Annotated[str, _option(
        "--decimal", help="Decimal mark of the CSV: '.' or ',' (e.g. with --sep ';').")] = ".",
    drop_first: Annotated[bool, _option(
        "--drop-first", help="Reference coding: no column for the first level of each text "
                             "column (default: every level has one).")] = False,
    drop: Annotated[list[str] | None, _option(
        "--drop", help="A column never to use (repeatable).")] = None,
    keep: Annotated[list[str] | None, _option(
        "--keep", help="Use a column that looks like a row index or an identifier "
                       "(repeatable).")] = None,
    categorical: Annotated[list[str] | None, _option(
        "--categorical", help="One-hot encode a column whatever its values: codes written "
                              "as numbers, or numbers with a few text values, as R's "
                              "factors (repeatable).")] = None,
    out: Annotated[str | None, _option(
        "--out", "-o", help="Model folder (default: ./penalized-<file name>/).")] = None,
    force: Annotated[bool, _option(
        "--force", help="Replace the model already in --out.")] = False,
    report: Annotated[bool, _option("--report/--no-report", help="Write report.html.")] = True,
    seed: Annotated[int, _option("--seed", help="Seed of the fold shuffling.")] = 0,
    as_json: Annotated[bool, _option("--json", help="Print the result as JSON.")] = False,
    quiet: Annotated[bool, _option("--quiet", "-q", help="No progress or logs.")] = False,
    dask: Annotated[str | None, _option(
        "--dask", help="Run the CV on a Dask cluster: tcp://host:8786, or local / local:N "
                       "worker processes on this machine (each limited by the Dask config "
                       "penalized.local-memory-limit, e.g. DASK_PENALIZED__LOCAL_MEMORY_LIMIT"
                       "=2GB).")] = None,
    checkpoint: Annotated[str | None, _option(
        "--checkpoint", help="Folder storing every finished fold (see --resume).")] = None,
    resume: Annotated[bool, _option(
        "--resume", help="Continue the run stored in --checkpoint (same data and options): "
                         "finished folds are not fitted again.")] = False,
    exclude: Annotated[list[str] | None, _option(
        "--exclude", help="A feature forced to 0 (glmnet's exclude; repeatable; a text "
                          "column excludes all its one-hot columns).")] = None,
    dfmax: Annotated[int | None, _option(
        "--dfmax", min=0, help="Stop the path before a fit with more nonzero "
                               "coefficients (glmnet's dfmax).")] = None,
) -> None:
    """Fit a penalized model on a table; alpha by K-fold CV; write the model and a report.

    The task is inferred from the target unless --task is given: least squares
    for regression, logistic for two classes, multinomial for more. Row-index and
    identifier-like columns are set aside, text columns one-hot encoded, rows
    without a target dropped.
    """
    settings = FitSettings(
        data=data, target=target, task=task, penalty=penalty, l1_ratio=l1_ratio, gamma=gamma,
        cv=cv, stratify=stratify, tol=tol, max_iter=max_iter, rule=rule, n_alphas=n_alphas,
        alpha_min_ratio=alpha_min_ratio, standardize=standardize, impute=impute, sep=sep,
        decimal=decimal, drop_first=drop_first, drop=tuple(drop or ()),
        keep=tuple(keep or ()), categorical=tuple(categorical or ()), out=out, force=force,
        report=report, seed=seed,
        as_json=as_json, quiet=quiet, dask=dask, checkpoint=checkpoint, resume=resume,
        group_factors=group_factors, exclude=tuple(exclude or ()), dfmax=dfmax)
    _fit_job(settings)


@dataclasses.dataclass(frozen=True)
class FitSettings:
    """Every option of ``penalized fit`` (the command's parameters, in one place)."""

    data: str
    target: str
    task: str
    penalty: str
    l1_ratio: float | None
    cv: int
    stratify: bool
    tol: float
    max_iter: int | None
    rule: str
    n_alphas: int
    alpha_min_ratio: float | None
    standardize: bool
    impute: str
    sep: str | None
    decimal: str
    drop_first: bool
    drop: tuple
    keep: tuple
    out: str | None
    force: bool
    report: bool
    seed: int
    as_json: bool
    quiet: bool
    dask: str | None = None
    checkpoint: str | None = None
    resume: bool = False
    group_factors: bool = False
    exclude: tuple = ()
    dfmax: int | None = None
    gamma: float | None = None
    categorical: tuple = ()

    @property
    def folder(self) -> str:
        data = os.path.normpath(self.data)
        if any(c in os.path.basename(data) for c in "*?["):  # a glob: its folder's name
            data = os.path.dirname(data) or "data"
        return self.out or f"penalized-{os.path.splitext(os.path.basename(data))[0]}"


@dataclasses.dataclass(frozen=True)
class FitInputs:
    """The checked table and model choices, before any work."""

    table: object  # penalized.app.io.PreparedTable, or _tall.FolderTable
    task: str
    datafit: object
    penalty: object
    #: a Parquet folder read by the Dask workers (never whole in this process)
    tall: bool = False


def _checked_inputs(s: FitSettings) -> FitInputs:
    """Every check that needs no data first, then the data's; nothing is logged, so an
    error is the only line on stderr."""
    from ..io import prepare_table, read_table
    from ..parquet_folder import is_parquet_folder
    from ..persistence import check_new_folder
    from ._dask import check_resume

    if s.alpha_min_ratio is not None and not 0 < s.alpha_min_ratio < 1:
        raise ValueError(f"--alpha-min-ratio must be in (0, 1), got {s.alpha_min_ratio:g}")
    if not 0 < s.tol < 1:
        raise ValueError(f"--tol must be in (0, 1), got {s.tol:g}")
    pen = make_penalty(s.penalty, s.l1_ratio, s.gamma)
    if s.group_factors and not pen.block_separable:
        factor_groups(pen, None, True)  # the option's error, before reading the data
    check_resume(s.checkpoint, s.resume)
    check_new_folder(s.folder, force=s.force)
    if s.dask is not None and is_parquet_folder(s.data):
        from ._tall import folder_inputs

        return FitInputs(*folder_inputs(s), pen, tall=True)
    frame = read_table(s.data, sep=s.sep, decimal=s.decimal)
    table = prepare_table(frame, s.target, impute=s.impute, drop=s.drop, keep=s.keep,
                          drop_first=s.drop_first, categorical=s.categorical)
    pen = factor_groups(pen, table.spec, s.group_factors)
    if pen.block_separable and not s.group_factors:
        table.notes.append("no --group-factors: every feature is a group of its own")
    datafit = datafit_for(infer_task(table.y, s.task), table.y)
    task = datafit.task  # (poisson and huber are regressions)
    pen = excluded_penalty(pen, s.exclude, table.feature_names)
    n = table.n_rows_used
    if n < s.cv:
        raise ValueError(f"--cv {s.cv} needs at least {s.cv} rows with a target, found {n}")
    _check_class_counts(table.y, task, s.cv)
    return FitInputs(table, task, datafit, pen)


def excluded_penalty(pen, exclude: tuple, feature_names) -> object:
    """``--exclude``: each name a feature, or a text column (all its one-hot columns)."""
    from ...workflows.constraints import exclude_features

    if not exclude:
        return pen
    names = list(feature_names)
    mask = np.zeros(len(names), dtype=bool)
    for column in exclude:
        hits = [j for j, name in enumerate(names)
                if name == column or name.startswith(f"{column}=")]
        if not hits:
            raise ValueError(f"--exclude {column!r}: no such feature (features: "
                             f"{', '.join(names[:10])}{'...' if len(names) > 10 else ''})")
        mask[hits] = True
    return exclude_features(pen, mask, len(names))


def _fit_job(s: FitSettings) -> None:
    from ._dask import cluster_run
    from ._model import cross_validated_metrics, cross_validated_model, edge_warning
    from ._tall import folder_model

    start = time.perf_counter()
    inputs = _checked_inputs(s)
    table, task, datafit, pen = inputs.table, inputs.task, inputs.datafit, inputs.penalty
    for note in table.notes:
        log(note, s.quiet)
    n, p = table.folder.shape if inputs.tall else table.X.shape
    ratio = default_ratio(n, p, pen) if s.alpha_min_ratio is None else s.alpha_min_ratio
    log(f"{n} rows x {p} features; {task} ({type(datafit).__name__}), {pen!r}, {s.cv}-fold "
        f"CV over {s.n_alphas} alphas", s.quiet)
    with warnings.catch_warnings(record=True) as caught, \
            cluster_run(s.dask, s.checkpoint, s.resume, s.quiet) as client, \
            Progress(s.quiet) as progress:
        warnings.simplefilter("always")
        tall = folder_model(table, datafit, pen, s, ratio, client, progress) \
            if inputs.tall else None  # (run, metrics) of a Parquet folder on the workers
        run = tall[0] if tall else cross_validated_model(
            table.X, table.y, datafit, pen, name=f"{type(datafit).__name__} + {pen.name}",
            feature_names=table.feature_names, cv=s.cv, n_alphas=s.n_alphas,
            alpha_min_ratio=ratio, rule=s.rule, standardize=s.standardize, seed=s.seed,
            tol=s.tol, max_iter=s.max_iter, stratify=s.stratify, progress=progress,
            client=client, checkpoint=s.checkpoint, dfmax=s.dfmax)
    if run.cv.path is not None and run.cv.path.truncation:
        log(f"the path {run.cv.path.truncation}", s.quiet)
    messages = sorted({_cli_words(str(w.message).splitlines()[0]) for w in caught
                       if "numba" not in str(w.filename)})
    edge = edge_warning(run)
    warnings_shown = [f"warning: {m}" for m in messages + ([edge] if edge else [])]
    for message in warnings_shown:
        log(message, s.quiet)
    scores = tall[1] if tall else cross_validated_metrics(run, table.y)
    html = _fit_report(s.data, table, run, task, scores, warnings_shown) if s.report else None
    _save(s, inputs, run, html)
    report_path = os.path.join(s.folder, REPORT) if s.report else None
    result = _result(s.folder, report_path, task, pen, s.rule, run, table, scores,
                     time.perf_counter() - start)
    if s.as_json:
        print_json(result)
        return
    _print_summary(result, run, s.data, s.target)


REPORT = "report.html"


def _cli_words(message: str) -> str:
    """A library warning in the command line's terms (its options, not keywords)."""
    return message.replace("increase max_iter or tol", "increase --max-iter or --tol")


def _check_class_counts(y, task: str, cv: int) -> None:
    """Every class needs a row in every fold (before minutes of CV fail on it)."""
    if task != "classification":
        return
    counts = pd.Series(y).value_counts()
    if counts.iloc[-1] < cv:
        raise ValueError(f"class {counts.index[-1]!r} has {counts.iloc[-1]} row(s), fewer than "
                         f"the {cv} folds: lower --cv or merge rare classes")


def _coefficients(run) -> dict:
    """Nonzero coefficients by feature: a number, or one per class for more than two."""
    if run.coef.ndim == 1:
        return {name: float(c) for name, c in zip(run.feature_names, run.coef, strict=True)
                if c != 0}
    classes = [str(c) for c in run.classes]
    return {name: dict(zip(classes, map(float, row), strict=True))
            for name, row, keep in zip(run.feature_names, run.coef, run.selected, strict=True)
            if keep}


def _result(folder, report_path, task, pen, rule, run, table, scores, elapsed) -> dict:
    cvr = run.cv
    metrics = {k: v for k, v in scores.items() if k != "confusion"}
    classes = None if run.classes is None else [str(c) for c in run.classes]
    return {
        "model": folder, "report": report_path, "task": task, "penalty": pen.name,
        "l1_ratio": l1_ratio_of(pen), "penalty_params": penalty_params(pen),
        "rule": rule, "alpha": run.alpha,
        "alpha_min": cvr.alpha_min, "alpha_1se": cvr.alpha_1se, "cv_scoring": cvr.scoring,
        "cv_score": float(cvr.mean[run.index]), "cv_std_error": float(cvr.std_error[run.index]),
        "cv_metrics": metrics, "classes": classes,
        "positive_class": classes[1] if classes is not None and len(classes) == 2 else None,
        "n_nonzero": run.n_nonzero, "n_features": len(run.feature_names),
        "rows_used": table.n_rows_used, "rows_dropped": table.n_rows_dropped,
        "set_aside": table.spec.set_aside,
        "intercept": run.intercept if np.ndim(run.intercept) == 0
        else dict(zip(classes, map(float, run.intercept), strict=True)),
        "seconds": round(elapsed, 3), "coefficients": _coefficients(run),
    }


def _print_summary(result: dict, run, data: str, target: str) -> None:
    keys = ("task", "positive_class", "penalty", "l1_ratio", "rule", "alpha", "alpha_min",
            "alpha_1se", "cv_scoring", "cv_score", "cv_std_error", "n_nonzero", "n_features",
            "rows_used", "rows_dropped", "seconds")
    rows = [{"quantity": k, "value": result[k]} for k in keys if result[k] is not None]
    rows += [{"quantity": f"cv {k}", "value": v} for k, v in result["cv_metrics"].items()]
    if result["set_aside"]:
        rows.append({"quantity": "columns set aside", "value": ", ".join(result["set_aside"])})
    print_table(rows, title=f"penalized fit {os.path.basename(data)} --target {target}")
    p = result["n_features"]

    def size(v):
        return max(abs(x) for x in v.values()) if isinstance(v, dict) else abs(v)

    top = sorted(result["coefficients"].items(), key=lambda kv: -size(kv[1]))[:15]
    print_table([{"feature": k, **(v if isinstance(v, dict) else {"coefficient": v})}
                 for k, v in top],
                title=f"largest coefficients (original units; {p - run.n_nonzero} of {p} "
                      "exactly zero)")
    print(f"model: {result['model']}"
          + (f"\nreport: {result['report']}" if result["report"] else ""))


def _save(s: FitSettings, inputs: FitInputs, run, html: str | None) -> None:
    from ..persistence import save_linear_model

    cvr, table, pen = run.cv, inputs.table, inputs.penalty
    extra = {"rule": s.rule, "cv": {"folds": s.cv, "scoring": cvr.scoring, "seed": s.seed,
                                    "stratified": s.stratify and inputs.task == "classification",
                                    "alpha_min": cvr.alpha_min, "alpha_1se": cvr.alpha_1se},
             "standardize": s.standardize, "source": os.path.basename(s.data),
             "penalty_params": penalty_params(pen),
             "rows": {"read": table.n_rows_read, "dropped": table.n_rows_dropped,
                      "used": table.n_rows_used}}
    save_linear_model(
        s.folder, coef=run.coef, intercept=run.intercept, feature_spec=table.spec.to_dict(),
        task=inputs.task, datafit=inputs.datafit.name, penalty=pen.name, alpha=run.alpha,
        l1_ratio=l1_ratio_of(pen), classes=run.classes, extra=extra,
        extra_arrays={"alphas": cvr.alphas, "cv_mean": cvr.mean, "cv_std_error": cvr.std_error,
                      "path_coefs": cvr.path.coefs, "path_intercepts": cvr.path.intercepts},
        extra_files=None if html is None else {REPORT: html.encode("utf-8")})


def _fit_report(data: str, table, run, task: str, scores: dict, warnings_shown) -> str:
    from .. import report

    spec = table.spec
    summary = {"file": os.path.basename(data), "target": spec.target, "task": task,
               "rows read": table.n_rows_read, "rows dropped (missing target)":
               table.n_rows_dropped, "rows used": table.n_rows_used,
               "numeric columns": len(spec.numeric),
               "one-hot encoded columns": ", ".join(
                   f"{c} ({len(v)} levels)" for c, v in spec.categorical.items()) or "none",
               "columns set aside": "; ".join(
                   f"{c} ({why})" for c, why in spec.set_aside.items()) or "none",
               "imputation": spec.impute, "features": len(spec.feature_names)}
    if run.classes is not None and len(run.classes) == 2:
        summary["positive class (probabilities are of)"] = str(run.classes[1])
    sections = [report.data_section(summary, table.notes + list(warnings_shown)),
                report.linear_section(run, n_samples=table.n_rows_used, metrics=scores)]
    return report.render(f"penalized fit: {os.path.basename(data)}", sections)


def check_output_file(path: str) -> None:
    """Refuse, before any work, an output path that cannot become a file."""
    full = os.path.abspath(path)
    if os.path.isdir(full):
        raise ValueError(f"--out {path} is a folder; give a file name")
    parent = os.path.dirname(full)
    if not os.path.isdir(parent):
        raise ValueError(f"--out {path}: {parent} is not an existing folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"--out {path}: no permission to write in {parent}")


@app.command(epilog="Examples:\n\n\b\n  penalized predict run/ new.csv --out predictions.csv\n"
                    "  penalized predict run/ new.parquet > predictions.csv")
def predict(
    model: Annotated[str, typer.Argument(help="Model folder written by 'penalized fit'.")],
    data: Annotated[str, typer.Argument(help="CSV or Parquet file with the training columns.")],
    out: Annotated[str | None, _option(
        "--out", "-o", help="Output CSV (default: stdout).")] = None,
    sep: Annotated[str | None, _option("--sep", help="Force the input CSV separator.")] = None,
    decimal: Annotated[str, _option(
        "--decimal", help="Decimal mark of the CSV: '.' or ','.")] = ".",
    impute: Annotated[bool, _option(
        "--impute", help="Fill missing values with the training medians (most frequent "
                         "level for text), stored in the model folder.")] = False,
) -> None:
    """Predict with a saved model; writes a CSV with a prediction column (and probability).

    Identifier columns that were set aside at training time are copied in front,
    so that predictions can be joined back.
    """
    from ..io import apply_spec, read_table, with_training_fill
    from ..persistence import atomic_write_text, load

    if out:
        check_output_file(out)
    saved = load(model)
    frame = read_table(data, sep=sep, decimal=decimal)
    spec = with_training_fill(saved.spec) if impute else saved.spec
    notes: list[str] = []
    X = apply_spec(frame, spec, os.path.basename(data), notes)
    for note in notes:
        log(note)
    output = pd.DataFrame(index=frame.index)
    for col in saved.spec.set_aside:
        if col in frame.columns:
            output[col] = frame[col]
    output["prediction"] = saved.predict(X)
    if saved.manifest["task"] == "classification":
        proba = saved.predict_proba(X)
        if proba.ndim == 1:
            output[f"probability_{saved.classes[1]}"] = proba
        for k, label in enumerate(saved.classes if proba.ndim == 2 else ()):
            output[f"probability_{label}"] = proba[:, k]
    buffer = _io.StringIO()
    output.to_csv(buffer, index=False)
    if out:
        atomic_write_text(out, buffer.getvalue())
        log(f"{frame.shape[0]} predictions written to {out}")
    else:
        print(buffer.getvalue(), end="")
