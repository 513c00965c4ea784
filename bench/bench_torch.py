"""Time per epoch: ProximalOptimizer (L1 in Adam's metric) vs plain Adam, on the CPU.

Run ``python bench/bench_torch.py`` (about a minute). Each configuration trains the same
network from the same initialization; epochs are interleaved between the variants and the
median over repeats is reported, so that load on a shared machine affects all alike.
Target (issue 4): the proximal optimizer within 15% of plain Adam per epoch.
The prox costs five tensor operations per weight matrix (prox_metric_); on the digits
network each costs a few microseconds of dispatch whatever its size, against ~0.4 ms for
the forward, backward and Adam step of a batch, so about 10% is the floor there.
"""

import argparse
import statistics
import time

import torch

import penalized as pz
from penalized.torch import ProximalOptimizer, penalty_value


def make_problem(n_samples, n_inputs, n_hidden, n_classes, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n_samples, n_inputs, generator=generator)
    y = torch.randint(0, n_classes, (n_samples,), generator=generator)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(n_inputs, n_hidden), torch.nn.ReLU(),
                                torch.nn.Linear(n_hidden, n_classes))
    return x, y, model


def variants(model, alpha):
    plain = torch.optim.Adam(model.parameters(), lr=1e-3)
    prox = ProximalOptimizer(torch.optim.Adam(model.parameters(), lr=1e-3), pz.L1(), alpha)
    loss_term = torch.optim.Adam(model.parameters(), lr=1e-3)
    return {"adam": (plain, None), "adam + prox L1": (prox, None),
            "adam + L1 loss term": (loss_term, pz.L1().with_alpha(alpha))}


def epoch(model, optimizer, penalty, x, y, batch_size):
    order = torch.randperm(len(x))
    for start in range(0, len(x), batch_size):
        index = order[start:start + batch_size]
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x[index]), y[index])
        if penalty is not None:
            loss = loss + penalty_value(model, penalty)
        loss.backward()
        optimizer.step()


def bench(name, shape, batch_size, repeats, alpha=1e-4):
    x, y, model = make_problem(*shape)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    runs = variants(model, alpha)
    times = {label: [] for label in runs}
    for _ in range(repeats):
        for label, (optimizer, penalty) in runs.items():
            model.load_state_dict(initial)
            start = time.perf_counter()
            epoch(model, optimizer, penalty, x, y, batch_size)
            times[label].append(time.perf_counter() - start)
    base = statistics.median(times["adam"])
    for label, values in times.items():
        median = statistics.median(values)
        print(f"{name:<34}{label:<22}{1e3 * median:>9.2f} ms/epoch   x{median / base:.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), median of {args.repeats} epochs")
    bench("digits 64-128-10 (1437, batch 64)", (1437, 64, 128, 10), 64, args.repeats)
    bench("tutorial 784-128-10 (4096, b 128)", (4096, 784, 128, 10), 128, args.repeats)


if __name__ == "__main__":
    main()
