"""CUDA check of penalized.torch (not a pytest file): run ``python bench/cuda_check.py``.

If CUDA is available: the proximal optimizer (SGD and Adam metric) on CUDA tensors gives
exact zeros and the same weights as on the CPU (float64, same data and initialization), and
MLPClassifier(device="cuda") trains on digits with exact zeros and CPU-level accuracy.
Exits 0 with a message when CUDA is absent.
"""

import sys

import numpy as np
import torch

import penalized as pz
from penalized.torch import MLPClassifier, ProximalOptimizer


def train(device, make_optimizer, n_steps=50):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(128, 30, generator=generator, dtype=torch.float64)
    y = torch.randn(128, 3, generator=generator, dtype=torch.float64)
    weight = (0.1 * torch.randn(3, 30, generator=generator, dtype=torch.float64)).to(device)
    weight.requires_grad_(True)
    x, y = x.to(device), y.to(device)
    opt = ProximalOptimizer(make_optimizer([weight]), pz.L1(), alpha=0.05, params=[weight])
    for _ in range(n_steps):
        opt.zero_grad()
        (0.5 * (y - x @ weight.T).square().sum(1).mean()).backward()
        opt.step()
    state = opt.state_dict()
    opt.load_state_dict(state)
    return weight.detach().cpu().numpy()


def main() -> int:
    if not torch.cuda.is_available():
        print("CUDA not available: nothing to check")
        return 0
    print("device:", torch.cuda.get_device_name(0))
    for name, make in [("sgd", lambda p: torch.optim.SGD(p, lr=0.1)),
                       ("adam", lambda p: torch.optim.Adam(p, lr=0.01))]:
        cpu, cuda = train("cpu", make), train("cuda", make)
        zeros = float(np.mean(cuda == 0))
        assert zeros > 0.2, f"{name}: only {zeros:.1%} exact zeros on CUDA"
        np.testing.assert_allclose(cuda, cpu, atol=1e-9)
        assert np.array_equal(cuda == 0, cpu == 0), f"{name}: zero patterns differ"
        print(f"ProximalOptimizer({name}) on CUDA: {zeros:.1%} exact zeros, matches the CPU")

    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0,
                                                        stratify=y)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    scores = {}
    for device in ("cpu", "cuda"):
        clf = MLPClassifier((128,), penalty=pz.L1(), alpha=1e-3, batch_size=64, max_epochs=40,
                            random_state=0, device=device).fit(X_train, y_train)
        scores[device] = (clf.score(X_test, y_test), clf.layer_sparsity_[0])
        print(f"MLPClassifier on {device}: test accuracy {scores[device][0]:.4f}, "
              f"first-layer zeros {scores[device][1]:.1%}")
    assert scores["cuda"][1] > 0.5, "too few exact zeros on CUDA"
    assert abs(scores["cuda"][0] - scores["cpu"][0]) < 0.02, "CUDA and CPU accuracies differ"
    print("CUDA check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
