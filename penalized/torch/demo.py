"""Digits demonstration: what each way of penalizing an MLP does to its weights.

scikit-learn's digits (8x8 images, 64 inputs -> 128 hidden units -> 10 classes), 80/20
stratified split, features standardized on the training part. Four models:

- no penalty;
- L2 with alpha chosen by cross-validation (warm-started path, ``min`` rule);
- L1 through the proximal step in Adam's metric (:class:`ProximalOptimizer`);
- L1 as a plain loss term (subgradient): the same objective, but (almost) no exact zeros.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from ..penalties import L1, L2
from .cv import MLPClassifierCV
from .mlp import MLPClassifier
from .training import torch_threads

#: Strength of the L1 models (on the mean cross-entropy, standardized inputs).
L1_ALPHA = 1e-3


def digits_comparison(quick: bool = False, random_state: int = 0,
                      n_threads: int | None = None) -> list[dict]:
    """Train the four models and measure them.

    Parameters
    ----------
    quick : bool, default=False
        Fewer epochs and a smaller alpha grid for L2 (a few tens of seconds on one core).
    random_state : int, default=0
        Seeds the split, the initializations and the shuffling.
    n_threads : int or None, default=None
        Torch CPU threads while training (restored afterwards). None lets each estimator
        choose by its network's size (one thread for these).

    Returns
    -------
    list of dict
        One row per model: "model", "alpha", "test_accuracy", "train_accuracy",
        "train_test_gap" (train minus test accuracy), "first_layer_zeros" (fraction of
        exactly-zero weights of the 64 x 128 layer), "all_zeros" (all weight matrices),
        "epochs" and "seconds".
    """
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=random_state, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    base = dict(hidden_layer_sizes=(128,), batch_size=64, learning_rate=1e-3,
                max_epochs=60 if quick else 150, n_iter_no_change=10 if quick else 15,
                random_state=random_state)
    l2_alphas = [1e-2, 1e-3] if quick else [1e-1, 1e-2, 3e-3, 1e-3, 1e-4]
    models = [
        ("no penalty", MLPClassifier(penalty=None, **base)),
        ("L2 (alpha by CV)", MLPClassifierCV(MLPClassifier(penalty=L2(), **base),
                                             alphas=l2_alphas, cv=3 if quick else 5)),
        ("L1 proximal (Adam metric)", MLPClassifier(penalty=L1(), alpha=L1_ALPHA, **base)),
        ("L1 as loss term", MLPClassifier(penalty=L1(), alpha=L1_ALPHA, penalty_method="loss",
                                          **base)),
    ]
    rows = []
    with torch_threads(n_threads):
        for name, model in models:
            start = time.perf_counter()
            model.fit(X_train, y_train)
            seconds = time.perf_counter() - start
            fitted = getattr(model, "best_estimator_", model)
            train_accuracy = fitted.score(X_train, y_train)
            test_accuracy = fitted.score(X_test, y_test)
            rows.append({
                "model": name,
                "alpha": None if fitted.penalty is None else float(fitted.alpha),
                "test_accuracy": float(test_accuracy),
                "train_accuracy": float(train_accuracy),
                "train_test_gap": float(train_accuracy - test_accuracy),
                "first_layer_zeros": float(np.mean(fitted.coefs_[0] == 0)),
                "all_zeros": float(fitted.coef_sparsity_),
                "epochs": int(fitted.n_iter_),
                "seconds": float(seconds),
            })
    return rows


def format_table(rows: list[dict]) -> str:
    """The rows of :func:`digits_comparison` as a plain-text table."""
    header = (f"{'model':<28}{'alpha':>9}{'test acc':>10}{'gap':>8}"
              f"{'1st zeros':>10}{'zeros all':>11}{'epochs':>8}{'s':>7}")
    lines = [header, "-" * len(header)]
    for row in rows:
        alpha = "-" if row["alpha"] is None else f"{row['alpha']:.0e}"
        lines.append(
            f"{row['model']:<28}{alpha:>9}{row['test_accuracy']:>10.4f}"
            f"{row['train_test_gap']:>8.4f}{row['first_layer_zeros']:>10.1%}"
            f"{row['all_zeros']:>11.1%}{row['epochs']:>8d}{row['seconds']:>7.1f}"
        )
    return "\n".join(lines)
