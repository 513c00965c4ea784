"""Penalized MLPs on scikit-learn's digits: no penalty, L2 (alpha by CV), L1 proximal, L1 as loss.

Run ``python examples/digits_mlp.py`` (about a minute on one core) or with ``--quick``.
The proximal L1 step in Adam's metric zeroes most first-layer weights at (almost) the
accuracy of the best L2 model; the same L1 term added to the loss yields no exact zeros.
"""

import argparse

from penalized.torch.demo import digits_comparison, format_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs, smaller alpha grid")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = digits_comparison(quick=args.quick, random_state=args.seed)
    print(format_table(rows))
    best_l2 = next(r for r in rows if r["model"].startswith("L2"))
    prox = next(r for r in rows if r["model"].startswith("L1 proximal"))
    print(f"\nproximal L1: {prox['first_layer_zeros']:.1%} exact zeros in the first layer, "
          f"test accuracy {100 * (prox['test_accuracy'] - best_l2['test_accuracy']):+.2f} "
          "points vs the L2 model")


if __name__ == "__main__":
    main()
