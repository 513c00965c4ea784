"""Where things are printed: results to stdout, logs and progress to stderr."""

from __future__ import annotations

import contextlib
import json
import sys
import time

import numpy as np

EXIT_OK = 0
EXIT_BUG = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def error_line(message: str) -> None:
    """One line on stderr naming the problem."""
    text = " ".join(str(message).split())
    print(f"penalized: error: {text}", file=sys.stderr, flush=True)


def log(message: str, quiet: bool = False) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def print_json(data: dict) -> None:
    """Machine-readable result on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=_json_default) + "\n")
    sys.stdout.flush()


def print_table(rows: list[dict], title: str | None = None) -> None:
    """A small table on stdout (rich on a terminal, plain aligned text otherwise)."""
    if not rows:
        return
    columns = list(rows[0])

    def cell(v):
        if isinstance(v, float):
            return f"{v:.4g}"
        return "" if v is None else str(v)

    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title)
        for c in columns:
            table.add_column(c, overflow="fold")
        for row in rows:
            table.add_row(*[cell(row.get(c)) for c in columns])
        Console().print(table)
        return
    cells = [[cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[k]) for r in cells)) for k, c in enumerate(columns)]
    if title:
        print(title)
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    sys.stdout.flush()


class Progress:
    """Progress on stderr: a rich bar on a terminal, a plain line every ~10% otherwise.

    Use as a context manager; call the instance as ``progress(done, total, what)``.
    """

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self._bar = None
        self._task = None
        self._last = {}
        self._start = time.perf_counter()

    def __enter__(self):
        if self.tty and not self.quiet:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(),
                                     MofNCompleteColumn(), TimeElapsedColumn(),
                                     console=Console(stderr=True), transient=False)
            self._bar.__enter__()
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.__exit__(*exc)
        return False

    def __call__(self, done: int, total: int, what: str = "") -> None:
        if self.quiet:
            return
        if self._bar is not None:
            key = what.split(":")[0]
            if self._task is None or self._last.get("key") != key:
                self._task = self._bar.add_task(what, total=total)
                self._last["key"] = key
            self._bar.update(self._task, completed=done, total=total, description=what)
            return
        step = max(total // 10, 1)
        bucket = done // step
        if done == total or bucket != self._last.get(what.split(":")[0]):
            self._last[what.split(":")[0]] = bucket
            elapsed = time.perf_counter() - self._start
            print(f"[{elapsed:6.1f}s] {what} {done}/{total}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def no_progress():
    yield lambda *args: None
