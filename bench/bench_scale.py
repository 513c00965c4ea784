"""Scale-out benchmark (issue 17), part (a): 5-fold LassoCV and ElasticNetCV (3
l1_ratios) on a tall dense table: serial, ``n_jobs=2`` and a 2-worker LocalCluster,
against scikit-learn serial and ``n_jobs=2``; accuracy as the largest relative
difference of the mean CV curve from scikit-learn's, and the peak RSS of every
process.

Run: ``python bench/bench_scale.py [--n 100000 --p 1000]`` (default 40,000 x 400: the
issue's 100,000 x 1,000 takes minutes per scikit-learn fit on a shared 2-core machine).

Part (b), ``python bench/bench_scale.py --part b --rows 20000000 --dir DIR``: a
generated least-squares table of ``--rows`` x 100 written as Parquet in chunks (files
of 500,000 rows, row groups of 100,000, uncompressed: random floats do not compress),
then ``penalized fit DIR --target y --dask local:2`` with each worker limited to
``--worker-memory`` (2GB): path + 5-fold CV wall time against one plain read of the
files (pyarrow, every column, one process), the peak RSS of every process (sampled),
and the path of a subset (the first ``--subset`` rows) through the workers' route
against the in-memory Gram route on the same rows. ``--keep`` keeps the files.
``--cold``: the files' pages are dropped from the page cache (``posix_fadvise``
DONTNEED, no root needed) before the plain read and again before the fit, so that both
read from the disk; a raw read timed cold then warm checks that the eviction works.
``--pass-only``: only the pass over the files (``ParquetFolder.fold_moments`` on a
2-worker LocalCluster), twice from a cold page cache and twice from a warm one.

Part (c), ``python bench/bench_scale.py --part c --rows 2000000 --alphas 20``: the
logistic route (proximal Newton, one distributed pass per outer step) on a 2-worker
LocalCluster: time per pass and passes per path; ``--cv 5`` also a 5-fold
``cross_validate`` on the same cluster (every fold's path in the same passes);
``--classes 3`` also the multinomial path (and CV) of a 3-class target on the same X.

Part (d), ``python bench/bench_scale.py --part d --rows 400000 --p 20 --dir DIR``: a
folder of text class labels through ``penalized fit DIR --target label --dask local:2``
(proximal Newton on the row groups) and through the same command in memory, 50 alphas:
wall times, and the two models compared.
"""

from __future__ import annotations

import argparse
import resource
import time
import warnings

import numpy as np
from sklearn import linear_model as sk

from penalized import linear_model as pl


def tall_dense(n: int, p: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    beta = np.zeros(p)
    beta[rng.choice(p, 20, replace=False)] = rng.standard_normal(20)
    return X, X @ beta + rng.standard_normal(n)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def timed(make, X, y):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make().fit(X, y)
    return model, time.perf_counter() - start


def curve(model) -> np.ndarray:
    """Mean CV error per alpha at the chosen l1_ratio, alphas decreasing."""
    path = np.asarray(model.mse_path_)
    if path.ndim == 3:
        ratios = np.atleast_1d(model.l1_ratio)
        path = path[int(np.flatnonzero(np.isclose(ratios, model.l1_ratio_))[0])]
    return path.mean(axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=40_000)
    parser.add_argument("--p", type=int, default=400)
    parser.add_argument("--no-sklearn", action="store_true")
    parser.add_argument("--serial", action="store_true",
                        help="part a: the serial runs only (ours and scikit-learn's), CPU "
                             "time too")
    parser.add_argument("--part", choices=("a", "b", "c", "d"), default="a")
    parser.add_argument("--alphas", type=int, default=20, help="part c: path length")
    parser.add_argument("--cv", type=int, default=0,
                        help="part c: also a K-fold cross_validate of the same model")
    parser.add_argument("--classes", type=int, default=0,
                        help="part c: also the multinomial model of that many classes")
    parser.add_argument("--rows", type=int, default=20_000_000, help="part b: rows")
    parser.add_argument("--dir", default="bench/results/tall-parquet", help="part b: files")
    parser.add_argument("--worker-memory", default="2GB", help="part b: per worker")
    parser.add_argument("--subset", type=int, default=1_000_000, help="part b: rows compared")
    parser.add_argument("--keep", action="store_true", help="part b: keep the files")
    parser.add_argument("--cold", action="store_true",
                        help="part b: evict the files from the page cache (posix_fadvise) "
                             "before the plain read and before the fit")
    parser.add_argument("--pass-only", action="store_true",
                        help="part b: time the folder pass alone, cold and warm (twice)")
    args = parser.parse_args()
    if args.part in ("b", "c", "d"):
        from _tall_parquet import part_b, part_c, part_d

        {"b": part_b, "c": part_c, "d": part_d}[args.part](args)
        return
    X, y = tall_dense(args.n, args.p)
    print(f"X: {args.n} x {args.p} dense, {X.nbytes / 2**20:.0f} MiB; 5 folds, 100 alphas, "
          f"tol 1e-4; peak RSS before fitting {peak_rss_mb():.0f} MiB")
    from distributed import Client

    from penalized.workflows.distributed import local_cluster

    cluster = local_cluster(2)
    client = Client(cluster, set_as_default=False)
    models = {
        "LassoCV": ({}, {}),
        "ElasticNetCV": ({"l1_ratio": [0.3, 0.6, 0.9]}, {"l1_ratio": [0.3, 0.6, 0.9]}),
    }
    for name, (ours_kw, sk_kw) in models.items():
        ours_cls, sk_cls = getattr(pl, name), getattr(sk, name)
        timed(lambda ours_cls=ours_cls, kw=ours_kw: ours_cls(cv=5, **kw), X[:2000], y[:2000])
        runs = {"penalized serial": lambda c=ours_cls, kw=ours_kw: c(cv=5, **kw)}
        if not args.serial:
            runs["penalized n_jobs=2"] = lambda c=ours_cls, kw=ours_kw: c(cv=5, n_jobs=2, **kw)
            runs["penalized 2-worker cluster"] = (
                lambda c=ours_cls, kw=ours_kw: c(cv=5, client=client, **kw))
        if not args.no_sklearn:
            runs["scikit-learn serial"] = lambda c=sk_cls, kw=sk_kw: c(cv=5, **kw)
            if not args.serial:
                runs["scikit-learn n_jobs=2"] = (
                    lambda c=sk_cls, kw=sk_kw: c(cv=5, n_jobs=2, **kw))
        results = {}
        for label, make in runs.items():
            cpu = time.process_time()
            results[label] = (*timed(make, X, y), time.process_time() - cpu)
        reference = results.get("scikit-learn serial", results["penalized serial"])[0]
        for label, (model, seconds, cpu) in results.items():
            deviation = np.max(np.abs(curve(model) - curve(reference)) / curve(reference))
            print(f"{name:13s} {label:27s} {seconds:7.2f} s ({cpu:.2f} s CPU here)  alpha_ "
                  f"{model.alpha_:.4g}  CV curve vs scikit-learn {deviation:.1e}")
        seconds = {label: t for label, (_, t, _) in results.items()}
        if args.serial:
            if not args.no_sklearn:
                print(f"{name}: scikit-learn serial / ours "
                      f"{seconds['scikit-learn serial'] / seconds['penalized serial']:.1f}x")
            continue
        base, jobs = seconds["penalized serial"], seconds["penalized n_jobs=2"]
        line = (f"{name}: n_jobs=2 {base / jobs:.2f}x serial, cluster "
                f"{seconds['penalized 2-worker cluster'] / jobs:.2f}x the n_jobs=2 time")
        if not args.no_sklearn:
            line += f"; scikit-learn serial / ours {seconds['scikit-learn serial'] / base:.1f}x"
        print(line)
    # a worker's ru_maxrss starts at this process's size when it was forked (then exec'd):
    # its RSS now is the honest figure
    workers = client.run(current_rss_mb)
    print(f"peak RSS of this process {peak_rss_mb():.0f} MiB; RSS of the workers now "
          + ", ".join(f"{v:.0f}" for v in workers.values()) + " MiB")
    client.close()
    cluster.close()


if __name__ == "__main__":
    main()
