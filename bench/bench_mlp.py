"""MLP speed on the CPU: our estimator against scikit-learn's, and the prox's overhead.

Run ``python bench/bench_mlp.py`` (about a minute on a quiet machine). Three comparisons,
each measured in this run with the variants alternated (the order rotating every repeat) and
the median over repeats reported, so that load on a shared machine affects all alike:

1. ``MLPClassifier((64,))`` on digits (1797 x 64, 10 classes), batch 200, Adam, lr 1e-3,
   alpha 1e-4 (L2), a fixed number of epochs (tol=0): ``penalized.torch`` against
   ``sklearn.neural_network.MLPClassifier`` with the same settings, time per epoch of the
   whole ``fit``. scikit-learn runs with its default BLAS threads and with one (the faster
   of the two is the reference). Target: at most 1.5x.
2. ``ProximalOptimizer`` (L1 in Adam's metric) against plain Adam in a hand-written loop,
   per epoch: the digits MLP (64-64-10, batch 200) and a small CNN on the 8x8 digit images
   (two 3x3 convolutions of 16 and 32 channels, max-pooling, a linear layer; batch 64),
   with torch's default Adam and with ``fused=True`` (what the estimator uses). One torch
   thread (``--threads``). Target: at most 1.2x.
3. The same at the estimator's level: ``MLPClassifier((64,), penalty=pz.L1())`` (prox) against
   ``penalty=None``, per epoch.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SklearnMLP
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import penalized as pz
from penalized.torch import MLPClassifier, ProximalOptimizer


def alternate(variants: dict, repeats: int) -> dict:
    """Median (wall, CPU) seconds of each variant, run in turn (rotating the order).

    Each variant returns ``(wall, cpu)``. The CPU time of the process is the steadier
    measure on a loaded machine (waiting for a core is not counted); it counts every
    thread, so it is comparable between one-thread runs only.
    """
    times = {name: [] for name in variants}
    names = list(variants)
    for name in names:  # warm-up: first calls allocate and load kernels
        variants[name]()
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            times[name].append(variants[name]())
    return {name: tuple(statistics.median(v[i] for v in values) for i in (0, 1))
            for name, values in times.items()}


def clocks():
    return np.array([time.perf_counter(), time.process_time()])


def per_epoch(fit):
    start = clocks()
    model = fit()
    return tuple((clocks() - start) / model.n_iter_)


def estimator_variants(X, y, epochs: int) -> dict:
    common = dict(batch_size=200, tol=0.0, random_state=0)
    ours = dict(hidden_layer_sizes=(64,), learning_rate=1e-3, max_epochs=epochs,
                n_iter_no_change=epochs + 1, **common)
    theirs = dict(hidden_layer_sizes=(64,), learning_rate_init=1e-3, alpha=1e-4,
                  max_iter=epochs, n_iter_no_change=epochs + 1, **common)

    def sklearn_one_thread():
        with threadpool_limits(1):
            return per_epoch(lambda: SklearnMLP(**theirs).fit(X, y))

    return {
        "penalized.torch MLPClassifier": lambda: per_epoch(
            lambda: MLPClassifier(alpha=1e-4, **ours).fit(X, y)),
        "sklearn MLPClassifier": lambda: per_epoch(lambda: SklearnMLP(**theirs).fit(X, y)),
        "sklearn, 1 BLAS thread": sklearn_one_thread,
        "ours, L1 prox": lambda: per_epoch(
            lambda: MLPClassifier(penalty=pz.L1(), alpha=1e-4, **ours).fit(X, y)),
        "ours, no penalty": lambda: per_epoch(
            lambda: MLPClassifier(penalty=None, **ours).fit(X, y)),
    }


def mlp():
    return torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))


def cnn():
    return torch.nn.Sequential(
        torch.nn.Unflatten(1, (1, 8, 8)), torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32 * 4 * 4, 10))


def loop_variants(make, x, t, batch_size: int, fused: bool) -> dict:
    """One epoch of a hand-written training loop, with and without the prox."""
    torch.manual_seed(0)
    model = make()
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    optimizers = {
        "adam": torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused),
        "adam + prox L1": ProximalOptimizer(
            torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused), pz.L1(), alpha=1e-4),
    }

    def epoch(optimizer):
        model.load_state_dict(initial)
        start = clocks()
        for i in range(0, len(x), batch_size):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x[i:i + batch_size]),
                                              t[i:i + batch_size]).backward()
            optimizer.step()
        return tuple(clocks() - start)

    return {name: (lambda o=o: epoch(o)) for name, o in optimizers.items()}


def report(title: str, medians: dict, reference: str, rows=None) -> None:
    print(f"\n{title}")
    print(f"  {'':<32}{'wall ms/epoch':>14}{'ratio':>8}{'CPU ms/epoch':>14}{'ratio':>8}")
    base = medians[reference]
    for name in rows or medians:
        wall, cpu = medians[name]
        print(f"  {name:<32}{1e3 * wall:>14.2f}{wall / base[0]:>8.2f}"
              f"{1e3 * cpu:>14.2f}{cpu / base[1]:>8.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads of the hand-written loops (the estimator chooses "
                             "its own)")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)  # fixed epoch budgets, on purpose
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    print(f"torch {torch.__version__}, caller's threads {torch.get_num_threads()}, "
          f"median of {args.repeats} alternated runs, {args.epochs} epochs a fit")

    est = alternate(estimator_variants(X, y, args.epochs), args.repeats)
    sklearn_best = min(est["sklearn MLPClassifier"], est["sklearn, 1 BLAS thread"])
    est["sklearn (faster of the two)"] = sklearn_best  # by wall time
    report("1. MLPClassifier((64,)) on digits, batch 200 (target <= 1.5x)", est,
           "sklearn (faster of the two)",
           ["penalized.torch MLPClassifier", "sklearn MLPClassifier", "sklearn, 1 BLAS thread"])

    previous = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        x = torch.as_tensor(X, dtype=torch.float32)
        t = torch.as_tensor(y)
        for fused in (False, True):
            for name, make, batch in (("digits MLP 64-64-10, batch 200", mlp, 200),
                                      ("small CNN on 8x8 digits, batch 64", cnn, 64)):
                medians = alternate(loop_variants(make, x, t, batch, fused), args.repeats)
                report(f"2. {name}, Adam{' (fused)' if fused else ''}, {args.threads} thread(s)"
                       " (target <= 1.2x)", medians, "adam")
    finally:
        torch.set_num_threads(previous)
    report("3. the estimator: L1 prox against no penalty (target <= 1.2x)", est,
           "ours, no penalty", ["ours, no penalty", "ours, L1 prox"])
    ratio = est["penalized.torch MLPClassifier"][0] / sklearn_best[0]
    prox = est["ours, L1 prox"][1] / est["ours, no penalty"][1]
    print(f"\nsummary: ours / scikit-learn per epoch x{ratio:.2f} (wall); "
          f"estimator prox / none x{prox:.2f} (CPU)")


if __name__ == "__main__":
    main()
