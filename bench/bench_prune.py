"""Neuron-level group lasso and ``prune`` on digits: parameters and inference time saved.

Run ``python bench/bench_prune.py`` (a few minutes on a quiet 2-core machine). For each
seed, digits (1797 x 64, 10 classes) is split 75/25 (stratified, ``random_state=seed``) and
``MLPClassifier((256, 128))`` (ReLU, Adam, lr 1e-3, batch 200, 200 epochs at most, seeded
by ``seed``) is trained with the baseline penalty (L2, alpha 1e-4, the estimator's default)
and with ``penalty="group"`` at each strength. Each group-lasso network is pruned
(``penalized.torch.prune(model.module_)``); the script checks that the pruned network's test
predictions are those of the unpruned one, then reports, averaged over the seeds:

- test accuracy of the baseline and of each group-lasso model (the difference in points),
- parameters of the network before and after pruning (standardization layer excluded:
  it has none), and the hidden layer sizes left,
- inference time of the whole test set (450 rows, one forward pass of ``module_`` under
  ``torch.no_grad``) and of a single row, baseline network against the pruned one, timed in
  this run: each timing is the median over ``--repeats`` rounds of ``--calls`` forward
  passes, the networks alternated in every round (one torch thread),
- training CPU time per epoch against the baseline's (the block prox in Adam's metric
  against L2's coupled weight decay).
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))  # this checkout's package
from penalized.torch import MLPClassifier, prune

HIDDEN = (256, 128)
BASELINE = ("l2", 1e-4)


def n_parameters(module) -> int:
    return sum(p.numel() for p in module.parameters())


def hidden_sizes(module) -> list[int]:
    return [m.out_features for m in module.modules() if isinstance(m, torch.nn.Linear)][:-1]


def fit(X, y, penalty: str, alpha: float, seed: int) -> tuple[MLPClassifier, float]:
    """The fitted model and its CPU seconds per epoch (one thread: the steadier measure)."""
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier(HIDDEN, penalty=penalty, alpha=alpha, learning_rate=1e-3,
                              batch_size=200, max_epochs=200, random_state=seed).fit(X, y)
    return model, (time.process_time() - start) / model.n_iter_


def forward_seconds(modules: dict, x: torch.Tensor, calls: int, repeats: int) -> dict:
    """Median seconds per forward pass of each module, alternated in every round."""
    times = {name: [] for name in modules}
    names = list(modules)
    with torch.no_grad():
        for module in modules.values():  # warm-up
            module(x)
        for r in range(repeats):
            for name in names[r % len(names):] + names[:r % len(names)]:
                start = time.perf_counter()
                for _ in range(calls):
                    modules[name](x)
                times[name].append((time.perf_counter() - start) / calls)
    return {name: statistics.median(values) for name, values in times.items()}


def run_seed(X, y, alphas, seed: int, calls: int, repeats: int) -> dict:
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25,
                                                        random_state=seed, stratify=y)
    x_test = torch.as_tensor(X_test, dtype=torch.float32)
    baseline, epoch = fit(X_train, y_train, *BASELINE, seed)
    rows = {"baseline": {"accuracy": baseline.score(X_test, y_test), "epoch": epoch,
                         "parameters": n_parameters(baseline.module_),
                         "pruned": n_parameters(baseline.module_),
                         "hidden": hidden_sizes(baseline.module_)}}
    modules = {"baseline": baseline.module_.eval()}
    for alpha in alphas:
        model, epoch = fit(X_train, y_train, "group", alpha, seed)
        small = prune(model.module_).eval()
        with torch.no_grad():
            same = torch.equal(small(x_test).argmax(1), model.module_(x_test).argmax(1))
        if not same:
            raise AssertionError(f"pruned network predicts differently (alpha={alpha:g})")
        name = f"group {alpha:g}"
        rows[name] = {"accuracy": model.score(X_test, y_test), "epoch": epoch,
                      "parameters": n_parameters(model.module_),
                      "pruned": n_parameters(small), "hidden": hidden_sizes(small)}
        modules[name] = small
    for key, x in (("batch", x_test), ("row", x_test[:1])):
        for name, seconds in forward_seconds(modules, x, calls, repeats).items():
            rows[name][key] = seconds
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alphas", default="1e-4,3e-4,1e-3")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200, help="forward passes per round")
    parser.add_argument("--repeats", type=int, default=15, help="timing rounds")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    alphas = [float(a) for a in args.alphas.split(",")]
    X, y = load_digits(return_X_y=True)
    runs = [run_seed(X, y, alphas, seed, args.calls, args.repeats) for seed in range(args.seeds)]
    print(f"digits, MLPClassifier({HIDDEN}), {args.seeds} seeds, {args.threads} torch thread(s); "
          f"baseline {BASELINE[0]} alpha={BASELINE[1]:g}")
    print(f"{'model':<14}{'accuracy':>9}{'vs base':>9}{'params':>8}{'pruned':>8}{'removed':>9}"
          f"  {'hidden left':<36}{'450 rows':>10}{'1 row':>8}{'epoch':>8}")
    base = runs[0]["baseline"]
    for name in runs[0]:
        mean = {k: float(np.mean([r[name][k] for r in runs]))
                for k in ("accuracy", "parameters", "pruned", "batch", "row")}
        base_acc = np.mean([r["baseline"]["accuracy"] for r in runs])
        batch = np.mean([r[name]["batch"] / r["baseline"]["batch"] for r in runs])
        row = np.mean([r[name]["row"] / r["baseline"]["row"] for r in runs])
        epoch = np.mean([r[name]["epoch"] / r["baseline"]["epoch"] for r in runs])
        hidden = " ".join("/".join(str(h) for h in r[name]["hidden"]) for r in runs)
        print(f"{name:<14}{100 * mean['accuracy']:>8.2f}%"
              f"{100 * (mean['accuracy'] - base_acc):>+8.2f} {mean['parameters']:>7.0f}"
              f"{mean['pruned']:>8.0f}{100 * (1 - mean['pruned'] / mean['parameters']):>8.1f}%"
              f"  {hidden:<36}{batch:>9.2f}x{row:>7.2f}x{epoch:>7.2f}x")
    print(f"(450 rows, 1 row: forward time relative to the baseline network; epoch: training "
          f"CPU time per epoch relative to the baseline's. Baseline, first seed: "
          f"{1e6 * base['batch']:.0f} us for 450 rows, {1e6 * base['row']:.0f} us for 1 row, "
          f"{1e3 * base['epoch']:.1f} ms CPU per epoch)")


if __name__ == "__main__":
    main()
