"""bench_scale.py part (b): a least-squares table larger than the workers' memory, as
Parquet, through ``penalized fit DIR --target y --dask local:2`` (issue 17); part (d): a
folder of class labels through the same command (proximal Newton) and in memory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np

P = 100
FILE_ROWS = 500_000
GROUP_ROWS = 100_000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))



def coefficients(p: int = P) -> np.ndarray:
    beta = np.zeros(p)
    beta[::5] = np.linspace(2.0, 0.1, len(beta[::5]))
    return beta


def write_table(folder: str, rows: int, seed: int = 0) -> float:
    """``rows`` x 100 features + y, in files of FILE_ROWS rows; seconds taken."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    os.makedirs(folder, exist_ok=True)
    start, beta = time.perf_counter(), coefficients()
    names = [f"x{j}" for j in range(P)] + ["y"]
    for i, first in enumerate(range(0, rows, FILE_ROWS)):
        rng = np.random.default_rng([seed, i])
        n = min(FILE_ROWS, rows - first)
        X = rng.standard_normal((n, P))
        X[:, 1::2] += 3.0  # means away from zero: the moments are merged centered
        y = X @ beta + 1.0 + rng.standard_normal(n)
        table = pa.table([*(X[:, j] for j in range(P)), y], names=names)
        pq.write_table(table, os.path.join(folder, f"part-{i:05d}.parquet"),
                       row_group_size=GROUP_ROWS, compression="none")
    return time.perf_counter() - start


def evict(folder: str) -> None:
    """Drop the files' pages from the page cache (no root needed: ``posix_fadvise``
    DONTNEED drops clean pages, so each file is flushed to disk first)."""
    for name in os.listdir(folder):
        fd = os.open(os.path.join(folder, name), os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def resident_fraction(folder: str) -> float:
    """The fraction of the files' pages in this machine's page cache (``mincore``)."""
    import ctypes
    import mmap

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    resident = total = 0
    for name in os.listdir(folder):
        size = os.path.getsize(os.path.join(folder, name))
        pages = ctypes.create_string_buffer(-(-size // mmap.PAGESIZE))
        fd = os.open(os.path.join(folder, name), os.O_RDONLY)
        try:
            address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
            libc.mincore(address, size, pages)
            libc.munmap(address, size)
        finally:
            os.close(fd)
        resident += sum(byte & 1 for byte in pages.raw)
        total += len(pages)
    return resident / total


def check_eviction(folder: str) -> float:
    """Time a raw read of the files cold (after :func:`evict`, checked by
    :func:`resident_fraction`) and again warm. The disk's MB/s (cold)."""
    def read_all() -> tuple[float, int]:
        start, nbytes = time.perf_counter(), 0
        for name in sorted(os.listdir(folder)):
            with open(os.path.join(folder, name), "rb", buffering=0) as handle:
                while chunk := handle.read(1 << 24):
                    nbytes += len(chunk)
        return time.perf_counter() - start, nbytes

    evict(folder)
    resident = resident_fraction(folder)
    cold, nbytes = read_all()
    warm, _ = read_all()
    print(f"raw read of the files: cold {cold:.1f} s ({nbytes / cold / 1e6:.0f} MB/s; "
          f"{resident:.1%} of the pages in the page cache after the eviction), warm "
          f"{warm:.1f} s ({nbytes / warm / 1e6:.0f} MB/s)", flush=True)
    if resident > 0.01:
        print("  (the eviction did not work: the reads below are partly from memory)",
              flush=True)
    elif cold < 3 * warm:
        print("  (out of this machine's page cache, yet the cold read is not much slower: "
              "a cache below this machine, e.g. a virtual machine's host, served it)",
              flush=True)
    return nbytes / cold


def plain_read(folder: str) -> tuple[float, int]:
    """Seconds to read every column of every file once (pyarrow, one process)."""
    import pyarrow.parquet as pq

    start, nbytes = time.perf_counter(), 0
    for name in sorted(os.listdir(folder)):
        nbytes += pq.read_table(os.path.join(folder, name)).nbytes
    return time.perf_counter() - start, nbytes


class PeakSampler:
    """The peak RSS of a process and of each of its descendants (sampled every 0.2 s)."""

    def __init__(self, pid: int):
        import psutil

        self.root, self.peaks, self.names = psutil.Process(pid), {}, {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import psutil

        while not self.done.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                return
            for proc in procs:
                try:
                    rss = proc.memory_info().rss
                    if proc.pid not in self.names:
                        self.names[proc.pid] = " ".join(proc.cmdline()[1:4])[:60]
                except psutil.Error:
                    continue
                self.peaks[proc.pid] = max(self.peaks.get(proc.pid, 0), rss)
            time.sleep(0.2)

    def stop(self) -> dict:
        self.done.set()
        self.thread.join()
        return {f"{pid} {self.names.get(pid, '')}": peak / 2**20
                for pid, peak in self.peaks.items()}


def fit_folder(folder: str, out: str, worker_memory: str, target: str = "y",
               options=("--dask", "local:2")) -> tuple[float, dict, dict]:
    """``penalized fit`` on the folder (with 2 local workers): seconds, result, peak RSS."""
    env = {**os.environ, "DASK_PENALIZED__LOCAL_MEMORY_LIMIT": worker_memory,
           "PYTHONPATH": ROOT}
    command = [sys.executable, "-m", "penalized", "fit", folder, "--target", target,
               *options, "--out", out, "--force", "--json", "--no-report", "--quiet"]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    sampler = PeakSampler(process.pid)
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - start
    peaks = sampler.stop()
    if process.returncode:
        raise RuntimeError(f"penalized fit failed ({process.returncode}): {stderr[-3000:]}")
    return seconds, json.loads(stdout), peaks


def subset_check(folder: str, rows: int) -> float:
    """Largest relative difference of the path's coefficients: the first ``rows`` rows
    (whole files) through the workers' route (here, no cluster) against the in-memory
    Gram route on the same rows, same folds."""
    import pyarrow.parquet as pq
    from sklearn.model_selection import KFold

    import penalized as pz
    from penalized.app.parquet_folder import open_folder

    names = sorted(os.listdir(folder))[:max(1, rows // FILE_ROWS)]
    subset = os.path.join(folder, "subset")
    os.makedirs(subset, exist_ok=True)
    for name in names:
        os.link(os.path.join(folder, name), os.path.join(subset, name))
    try:
        tall = pz.cross_validate(open_folder(subset, "y"), None, cv=KFold(5), n_alphas=50,
                                 standardize=True, tol=1e-10)
        table = np.vstack([pq.read_table(os.path.join(folder, n)).to_pandas().to_numpy()
                           for n in names])
        memory = pz.cross_validate(table[:, :P], table[:, P], cv=KFold(5), n_alphas=50,
                                   standardize=True, tol=1e-10, precompute=True)
    finally:
        shutil.rmtree(subset)
    scale = np.abs(memory.path.coefs).max()
    return float(np.max(np.abs(tall.path.coefs - memory.path.coefs)) / scale)


def time_pass(folder: str, worker_memory: str, reps: int = 2) -> None:
    """``--pass-only``: the folder pass alone (``ParquetFolder.fold_moments``, 5 folds,
    one task per file) on a 2-worker LocalCluster, after one untimed pass, ``reps``
    times from a cold page cache and from a warm one."""
    from distributed import Client

    from penalized.app.parquet_folder import open_folder
    from penalized.workflows.distributed import local_cluster

    os.environ["DASK_PENALIZED__LOCAL_MEMORY_LIMIT"] = worker_memory
    table = open_folder(folder, "y")
    labels = np.random.default_rng(0).integers(0, 5, table.shape[0]).astype(np.int32)
    seconds = {True: [], False: []}
    with local_cluster(2) as cluster, Client(cluster, set_as_default=False) as client:
        table.fold_moments(labels, 5, client)  # (the workers' imports, first products)
        for _ in range(reps):
            for cold in (True, False):
                if cold:
                    evict(folder)
                start = time.perf_counter()
                table.fold_moments(labels, 5, client)
                seconds[cold].append(time.perf_counter() - start)
    for cold, times in seconds.items():
        print(f"the pass alone ({len(table.files)} files, {'cold' if cold else 'warm'}): "
              + ", ".join(f"{t:.2f}" for t in times) + f" s (median {np.median(times):.2f} "
              f"s; load average {os.getloadavg()[0]:.1f})", flush=True)


def part_b(args) -> None:
    folder = os.path.abspath(args.dir)
    if os.path.exists(folder) and os.listdir(folder):
        print(f"{folder}: reusing the files there", flush=True)
        seconds = float("nan")
    else:
        seconds = write_table(folder, args.rows)
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
    print(f"table {args.rows} x {P} + y: {size / 2**30:.2f} GiB of Parquet in "
          f"{len(os.listdir(folder))} files, written in {seconds:.0f} s; 2 workers x "
          f"{args.worker_memory}", flush=True)
    try:
        if args.pass_only:
            time_pass(folder, args.worker_memory)
            return
        if args.cold:  # the read and the fit each from the disk, not the page cache
            check_eviction(folder)
            evict(folder)
        read_seconds, nbytes = plain_read(folder)
        print(f"one plain read (pyarrow, all columns, one process{', cold' * args.cold}): "
              f"{read_seconds:.1f} s ({nbytes / 2**30:.2f} GiB in Arrow)", flush=True)
        out = os.path.join(os.path.dirname(folder), "tall-model")
        if args.cold:
            evict(folder)
        fit_seconds, result, peaks = fit_folder(folder, out, args.worker_memory)
        print(f"penalized fit --dask local:2 (path + 5-fold CV, 100 alphas): "
              f"{fit_seconds:.1f} s = {fit_seconds / read_seconds:.2f} x one plain read",
              flush=True)
        for name, peak in peaks.items():
            print(f"  peak RSS {peak:8.0f} MiB  {name}", flush=True)
        beta = coefficients()
        got = np.array([result["coefficients"].get(f"x{j}", 0.0) for j in range(P)])
        print(f"alpha {result['alpha']:.3g}, {result['n_nonzero']} nonzero, cv R2 "
              f"{result['cv_metrics']['R2']:.4f}; largest |coef - truth| "
              f"{np.max(np.abs(got - beta)):.2e}", flush=True)
        shutil.rmtree(out, ignore_errors=True)
        difference = subset_check(folder, args.subset)
        print(f"first {args.subset} rows: path coefficients through the workers' route vs "
              f"the in-memory Gram route: largest difference {difference:.1e} (relative to "
              "the largest coefficient)", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


def _logistic_block(i: int, rows: int, p: int, classes: int = 0):
    """X, a binary target and (``classes``) a target of that many classes (the binary
    target is the same with or without it)."""
    rng = np.random.default_rng([7, i])
    X = rng.standard_normal((rows, p))
    z = X @ coefficients(p) * 0.5 - 0.5 + rng.logistic(size=rows)
    columns = [X, (z > 0).astype(float)]
    if classes:
        effects = np.outer(coefficients(p), np.linspace(-0.5, 0.5, classes))
        columns.append(np.argmax(X @ effects + rng.gumbel(size=(rows, classes)), axis=1))
    return np.column_stack(columns)


def part_c(args) -> None:
    """The logistic route on a 2-worker LocalCluster: time per distributed pass and
    passes per path (``--rows`` x 100 held in the workers' memory)."""
    import dask
    import dask.array as da
    from distributed import Client

    import penalized as pz
    from penalized.workflows.distributed import local_cluster
    from penalized.workflows.tall_newton import newton_path

    if args.cv:  # (imported now: a long run is not broken by later edits of the tree)
        import penalized.workflows.tall_newton_cv  # noqa: F401
    block = 100_000
    sizes = [min(block, args.rows - s) for s in range(0, args.rows, block)]
    with local_cluster(2) as cluster, Client(cluster, set_as_default=False, timeout=60) as c:
        width = P + 1 + bool(args.classes)
        parts = [da.from_delayed(dask.delayed(_logistic_block)(i, r, P, args.classes),
                                 (r, width), float) for i, r in enumerate(sizes)]
        Z = c.persist(da.concatenate(parts))
        X, y = Z[:, :P], Z[:, P]
        start = time.perf_counter()
        res, stats = newton_path(X, y, pz.Logistic(), pz.L1(), n_alphas=args.alphas,
                                 tol=1e-8, client=c)
        seconds = time.perf_counter() - start
        print(f"logistic + L1 on Dask, {args.rows} x {P} (in the workers' memory), "
              f"{args.alphas} alphas: {seconds:.1f} s, {stats['passes']} passes "
              f"({stats['passes'] / args.alphas:.1f} per alpha), "
              f"{stats['seconds_per_pass']:.2f} s per pass; outer steps per alpha "
              f"{res.n_iters.min()}-{res.n_iters.max()}, largest KKT violation "
              f"{res.certificates.max():.1e}", flush=True)
        if args.cv:
            cv_seconds, cv_stats, cv = _part_c_cv(X, y, args, c)
        if args.classes:
            _part_c_classes(X, Z[:, P + 1], args, c, seconds, cv_seconds if args.cv else None)
    if args.cv:
        print(f"{args.cv}-fold cross_validate (the full-data path included), same cluster: "
              f"{cv_seconds:.1f} s ({cv_seconds / seconds:.2f}x the path), "
              f"{cv_stats['passes']} passes ({cv_stats['passes'] / args.alphas:.1f} per alpha), "
              f"{cv_stats['seconds_per_pass']:.2f} s per pass, {cv_stats['points']} weighted "
              f"Grams ({cv_stats['points'] / cv_stats['passes']:.1f} per pass); alpha_min "
              f"{cv.alpha_min:.4g} (index {cv.index_min})", flush=True)


def _part_c_classes(X, y, args, client, path_seconds, cv_seconds) -> None:
    """``--classes K``: the multinomial path (and CV) on the same X, K classes (the
    exact Hessian's K (K + 1) / 2 blocks per point and pass)."""
    import penalized as pz
    from penalized.workflows.tall_newton import newton_path

    start = time.perf_counter()
    res, stats = newton_path(X, y, pz.Multinomial(), pz.L1(), n_alphas=args.alphas,
                             tol=1e-8, client=client)
    seconds = time.perf_counter() - start
    print(f"multinomial ({args.classes} classes) + L1, same X and cluster: path "
          f"{seconds:.1f} s ({seconds / path_seconds:.2f}x the logistic path), "
          f"{stats['passes']} passes, {stats['seconds_per_pass']:.2f} s per pass; outer "
          f"steps per alpha {res.n_iters.min()}-{res.n_iters.max()}", flush=True)
    if cv_seconds is not None:
        seconds, stats, _ = _part_c_cv(X, y, args, client, pz.Multinomial())
        print(f"multinomial {args.cv}-fold cross_validate: {seconds:.1f} s "
              f"({seconds / cv_seconds:.2f}x the logistic CV), {stats['passes']} passes, "
              f"{stats['seconds_per_pass']:.2f} s per pass", flush=True)


def _part_c_cv(X, y, args, client, datafit=None):
    """``--cv K``: the K-fold cross-validation of the same model, every fold's path and
    the full-data one in the same passes (:mod:`penalized.workflows.tall_newton_cv`)."""
    import penalized as pz
    from penalized.workflows.cv_tasks import RouteOptions
    from penalized.workflows.scoring import get_scorer
    from penalized.workflows.tall_newton_cv import newton_cross_validate

    how = RouteOptions(False, True, True, False, "shared", False, None,
                       {"n_alphas": args.alphas, "alpha_min_ratio": None, "alphas": None})
    datafit = pz.Logistic() if datafit is None else datafit
    start = time.perf_counter()
    cv, stats = newton_cross_validate(X, y, datafit, [pz.L1()], get_scorer(None, datafit),
                                      how, cv=args.cv, tol=1e-8, client=client)
    return time.perf_counter() - start, stats, cv


def write_labels(folder: str, rows: int, p: int, seed: int = 0) -> None:
    """``rows`` x ``p`` features and a text label from a logistic model of five of them,
    in 4 files of row groups of GROUP_ROWS rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    os.makedirs(folder, exist_ok=True)
    beta = np.zeros(p)
    beta[:5] = [1.0, -1.0, 0.5, 0.5, -0.5]
    for i in range(4):
        rng = np.random.default_rng([seed, i])
        X = rng.standard_normal((rows // 4, p))
        churned = rng.random(rows // 4) < 1.0 / (1.0 + np.exp(-(X @ beta + 0.3)))
        table = pa.table({**{f"x{j}": X[:, j] for j in range(p)},
                          "label": np.where(churned, "churned", "stayed")})
        pq.write_table(table, os.path.join(folder, f"part-{i}.parquet"),
                       row_group_size=GROUP_ROWS)


def part_d(args) -> None:
    """A labelled folder through ``penalized fit DIR --target label --dask local:2``
    (proximal Newton on the workers) and the same command in memory, 50 alphas."""
    folder = os.path.abspath(args.dir)
    write_labels(folder, args.rows, args.p)
    try:
        runs = {"--dask local:2": ("--dask", "local:2"), "in memory": ()}
        results = {}
        for name, options in runs.items():
            seconds, results[name], _ = fit_folder(
                folder, folder + "-model", args.worker_memory, "label",
                (*options, "--n-alphas", "50"))
            metrics = results[name]["cv_metrics"]
            print(f"{name}: {seconds:.1f} s wall (path + 5-fold CV); alpha "
                  f"{results[name]['alpha']:.6g}, cv accuracy {metrics['accuracy']:.6f}, "
                  f"AUC {metrics['AUC']:.6f}", flush=True)
        tall, memory = results.values()
        difference = max(abs(value - tall["coefficients"].get(name, 0.0))
                         for name, value in memory["coefficients"].items())
        print(f"alphas' relative difference {abs(tall['alpha'] / memory['alpha'] - 1):.1e}; "
              f"largest coefficient difference {difference:.1e}", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(folder + "-model", ignore_errors=True)
