"""A/B/C of the CD kernel's Anderson extrapolation on the ``bench_real.py`` corpus (issue 13).

Temporary: reads the ablation switch ``PZ_NO_ANDERSON`` ("all": neither driver
extrapolates; "compiled": only the compiled path driver does not) of the commit that adds
this file. Per table x datafit x penalty: one tol=1e-12 reference (with Anderson), then at
each tol the three variants in rotating order, CPU time of this process (``timed`` of
``bench_real.py``), the worst true relative excess against the best objective of all runs.

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python bench/_ablate_anderson.py [tables|all] [tols] [out]
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings

import numpy as np

import penalized as pz
from bench import bench_real as br
from penalized import datasets

VARIANTS = {"on": None, "off": "all", "offc": "compiled"}


def _set(variant: str) -> None:
    if VARIANTS[variant] is None:
        os.environ.pop("PZ_NO_ANDERSON", None)
    else:
        os.environ["PZ_NO_ANDERSON"] = VARIANTS[variant]


def _case_rows(case: br.Case, tols, turn: int) -> list[dict]:
    for variant in VARIANTS:
        _set(variant)
        br.warm_up(case, [("ours", t) for t in tols])
    _set("on")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pz.path(case.X, case.y, case.datafit, case.penalty(1.0), n_alphas=br.N_ALPHAS,
                      tol=br.REFERENCE_TOL, max_iter=br.REFERENCE_MAX_ITER)
    alphas = np.asarray(ref.alphas)
    objs, rows = [br.objectives(case, alphas, ref.coefs, ref.intercepts)], []
    names = list(VARIANTS)
    for k, tol in enumerate(tols):
        for variant in names[(turn + k) % 3:] + names[:(turn + k) % 3]:
            _set(variant)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                seconds, (coefs, b, extra) = br.timed(
                    lambda tol=tol: br.run_ours(case, alphas, tol), 600.0)
            objs.append(br.objectives(case, alphas, coefs, b))
            rows.append({"table": case.table, "datafit": case.datafit_name,
                         "penalty": case.penalty_name, "tol": tol, "variant": variant,
                         "time_s": seconds, "epochs": extra["epochs"],
                         "not_conv": extra["not_converged"], "obj": objs[-1]})
    _set("on")
    best = np.nanmin(np.vstack(objs), axis=0)
    for row in rows:
        row["excess"] = float(np.nanmax((row.pop("obj") - best) / np.abs(best)))
    return rows


def main(argv) -> None:
    br.CLOCK["now"] = time.process_time
    everything = [*datasets.names(), br.SYNTHETIC]
    tables = everything if len(argv) < 2 or argv[1] == "all" else argv[1].split(",")
    tols_arg = tuple(map(float, argv[2].split(","))) if len(argv) > 2 else None
    out = open(argv[3] if len(argv) > 3 else "ablate_anderson.jsonl", "a")
    turn = 0
    for name in tables:
        table = br.synthetic_table() if name == br.SYNTHETIC else datasets.load(name)
        datafit = {v: k for k, v in br.DATAFITS.items()}[table.task]
        if datafit not in ("leastsquares", "logistic"):
            continue
        synthetic = name == br.SYNTHETIC
        tols = tols_arg or (br.SYNTHETIC_TOLS if synthetic else br.OUR_TOLS)
        for pen in ["l1"] if synthetic else ["l1", "enet", "l2"]:
            case = br.Case(name, table.X, table.y, table.task, datafit, pen, tols)
            rows = _case_rows(case, tols, turn)
            turn += 1
            for row in rows:
                out.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
            out.flush()


if __name__ == "__main__":
    main(sys.argv)
