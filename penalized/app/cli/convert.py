"""``penalized convert``: a penalty strength between libraries' conventions."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from ... import conventions
from . import app
from ._output import log, print_json, print_table


def _datafit_for(source: str, datafit: str | None) -> str:
    """The source convention's datafit when it has only one (C is logistic's)."""
    fits = conventions.CONVENTIONS[source].datafits
    if datafit is None:
        return fits[0] if len(fits) == 1 else "leastsquares"
    if datafit not in fits:
        raise ValueError(f"--from {source} is a {' or '.join(fits)} convention, not "
                         f"--datafit {datafit}")
    return datafit

CHOICES = tuple(conventions.CONVENTIONS)
Source = Literal[CHOICES]
Target = Literal[("all", *CHOICES)]
Datafit = Literal["leastsquares", "logistic"]


@app.command(
    epilog="Examples:\n\n\b\n"
           "  penalized convert --from sklearn-ridge --alpha 1.0 --n-samples 442 --to all\n"
           "  penalized convert --from sklearn-logistic-c --alpha 0.5 --n-samples 569 "
           "--to penalized\n"
           "  penalized convert --from glmnet --alpha 0.1 --l1-ratio 0.5 --y-std 77.0 "
           "--to sklearn-elasticnet --json",
)
def convert(
    source: Annotated[Source, typer.Option("--from", help="Convention of the given strength.")],
    value: Annotated[float, typer.Option(
        "--alpha", "--value",
        help="The strength in that convention (alpha, C, lambda, weight_decay...).")],
    target: Annotated[Target, typer.Option("--to", help="Convention to convert to.")] = "all",
    n_samples: Annotated[int | None, typer.Option(
        "--n-samples", min=1, help="Training rows (needed by Ridge, C, MLP, tutorial).")] = None,
    l1_ratio: Annotated[float, typer.Option(
        "--l1-ratio", min=0.0, max=1.0,
        help="L1 share in the source's own terms (glmnet's alpha for glmnet).")] = 0.0,
    y_std: Annotated[float | None, typer.Option(
        "--y-std", help="Std of y (1/n formula) for glmnet's gaussian family (default 1, "
                        "said on stderr).")] = None,
    datafit: Annotated[Datafit | None, typer.Option(
        "--datafit", help="Keras/PyTorch MSE is unhalved: factors differ (default: the "
                          "source's datafit, logistic for sklearn-logistic-c, else "
                          "leastsquares).")] = None,
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", min=1, help="scikit-learn MLP batch size (default min(200, n)).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Convert a penalty strength between conventions (scikit-learn, glmnet, Keras, PyTorch).

    Every value is the same penalty on the same data: fitting with either gives
    the same coefficients. Conventions that cannot express the penalty (an L1
    part in Ridge, AdamW's decoupled decay) say why.
    """
    datafit = _datafit_for(source, datafit)
    if y_std is None:
        y_std = 1.0
        glmnet = "glmnet" in (source, target) or target == "all"
        if glmnet and datafit == "leastsquares" and l1_ratio < 1:
            log("note: assuming --y-std 1: glmnet's gaussian family scales y to unit "
                "variance, so its lambda's L2 part depends on the std of y; give --y-std")
    context = {"n_samples": n_samples, "l1_ratio": l1_ratio, "y_std": y_std,
               "datafit": datafit, "batch_size": batch_size}
    ours = conventions.to_penalized(source, value, **context)
    if target == "all":
        values = conventions.convert_all(value, source, **context)
    else:
        values = {target: conventions.convert(value, source, target, **context)}
    if as_json:
        print_json({"from": source, "value": value, "penalized_alpha": ours.alpha,
                    "penalized_l1_ratio": ours.l1_ratio, "context": context,
                    "to": values})
        return
    rows = []
    for name, converted in values.items():
        conv = conventions.CONVENTIONS.get(name)
        rows.append({"convention": name,
                     "parameter": conv.parameter if conv else "weight_decay",
                     "value": converted if isinstance(converted, float) else
                     str(converted).split(":")[0],
                     "meaning": conv.description if conv else str(converted)[5:]})
    print_table(rows, title=f"{source} {value:g} = penalized alpha {ours.alpha:.6g} "
                            f"(l1_ratio {ours.l1_ratio:g})")
