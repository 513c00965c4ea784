"""The Parquet folder pass of two versions of ``penalized/app/parquet_folder.py``
alternately on the same 2-worker LocalCluster (issue 17, part (b)): a commit's
``file_moments`` against this tree's, each pass from a cold page cache (the files
evicted, as ``bench_scale.py --part b --cold``) and from a warm one. Alternating on one
cluster keeps a shared machine's load the same for both.

Run: ``PYTHONPATH=. python bench/compare_folder_pass.py --ref 21e7760 --dir DIR`` on a
folder that ``bench_scale.py --part b --rows 4000000 --dir DIR --keep`` wrote.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _tall_parquet import ROOT, evict  # noqa: E402


def run_file(source: str, *args):
    """``file_moments(*args)`` of the module at ``source`` (runs on a worker)."""
    import importlib.util

    name = f"penalized.app._compared_{abs(hash(source))}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, source)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name].file_moments(*args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ref", required=True, help="the commit compared with this tree")
    parser.add_argument("--dir", required=True)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    from distributed import Client

    from penalized.app.parquet_folder import open_folder
    from penalized.workflows.distributed import local_cluster

    old = subprocess.run(["git", "show", f"{args.ref}:penalized/app/parquet_folder.py"],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(old)
    sources = {args.ref: handle.name,
               "this tree": os.path.join(ROOT, "penalized", "app", "parquet_folder.py")}
    folder = os.path.abspath(args.dir)
    table = open_folder(folder, "y")
    labels = np.random.default_rng(0).integers(0, 5, table.shape[0]).astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum(table.rows)])
    seconds: dict = {}
    with local_cluster(2) as cluster, Client(cluster, set_as_default=False) as client:
        def one_pass(source: str) -> float:
            start = time.perf_counter()
            client.gather([client.submit(run_file, source, f, table.features, "y",
                                         labels[offsets[i]:offsets[i + 1]], 5, pure=False)
                           for i, f in enumerate(table.files)])
            return time.perf_counter() - start

        for source in sources.values():  # the workers' imports, the first products
            one_pass(source)
        for _ in range(args.reps):
            for cold in (True, False):
                for label, source in sources.items():
                    if cold:
                        evict(folder)
                    seconds.setdefault((label, cold), []).append(one_pass(source))
    os.unlink(handle.name)
    for (label, cold), times in seconds.items():
        print(f"{label:10s} {'cold' if cold else 'warm'}: " + ", ".join(
            f"{t:.2f}" for t in times) + f" s (median {np.median(times):.2f} s)")
    print(f"load average {os.getloadavg()[0]:.1f} (shared machine)")


if __name__ == "__main__":
    main()
