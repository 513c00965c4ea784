"""Every tuning constant of the coordinate-descent engine, in one frozen object.

The drivers, rules and kernels read theirs from a :class:`CDSettings` (``DEFAULT``
unless a test passes another, built with ``dataclasses.replace``). Each field says what
it is and why it has its value; the measurements behind the values are in the commit
history and ``bench/README.md``.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from typing import NamedTuple


@dataclasses.dataclass(frozen=True)
class CDSettings:
    """Tuning constants of the coordinate-descent engine."""

    #: epochs per fit unless ``max_iter`` says otherwise
    max_epochs: int = 20_000
    #: outer rounds (certificate, working set, kernel call) per fit; the multinomial
    #: driver cycles over classes inside a round and may need more rounds
    max_outer: int = 200
    max_outer_multiclass: int = 1000
    #: the working set holds the support and the worst violators: ``ws_growth`` times
    #: the support, at least ``ws_min`` features (doubling keeps the number of rounds
    #: logarithmic in the final support)
    ws_min: int = 10
    ws_growth: float = 2.0
    #: a kernel call stops at this fraction of the round's starting KKT violation (or
    #: of the objective target): the inner work tracks what the certificate still needs
    inner_fraction: float = 0.3
    #: ... and this fraction in the compiled path driver for a datafit that is not
    #: quadratic: its rounds cost passes of logarithms and exponentials over the
    #: samples, its epochs none, so a closer inner solve that saves a round pays
    compiled_inner_fraction_curved: float = 0.03
    #: when the working set holds everything that matters, the kernel also stops once
    #: its violation is below this fraction of the round's starting one (the progress
    #: estimate cannot fall once decreases reach rounding level)
    settled: float = 1e-8
    #: with a Newton step to follow, CD stops once the signs on the working set have
    #: been stable this many epochs (the step finishes faster than CD's tail)
    stable_epochs: int = 10
    #: a Newton step on the support is taken when its cost is below this many epochs
    #: (for non-quadratic datafits: only after CD spent that many epochs on the model)
    newton_budget_epochs: int = 50
    #: dense linear algebra runs about this much faster per flop than the CD loop
    blas_speedup: float = 10.0
    #: the progress estimate (remaining decrease extrapolated from the sweeps' ratios)
    #: is multiplied by this before it is compared with the target
    tail_safety: float = 4.0
    #: ... and the one-step gain of the features outside the working set by this: a
    #: feature entering lets the others re-fit, worth far more than its own step
    outside_safety: float = 100.0
    #: the next round's violation target is divided by the kernel's understatement of
    #: the certificate's violation (:func:`.rules.plan_round`), at most this much: a
    #: larger ratio is model mismatch or rounding, not the kernel's measure
    max_undershoot: float = 10.0
    #: below this tol the progress estimate is not used: only the gap (or KKT) stops
    progress_min_tol: float = 1e-9
    #: Anderson extrapolation of the kernel's iterates every ``anderson_k`` epochs
    anderson_k: int = 5
    #: ... every ``compiled_anderson_k`` in the compiled path driver on a quadratic
    #: datafit, whose kernel calls end on the progress estimate: an accepted
    #: extrapolation restarts it, and it needs ``rate_window + check_lag + 1`` sweeps to
    #: be trusted again, so a cycle of ``anderson_k + 1`` sweeps must be longer for the
    #: estimate to stop the call before the next extrapolation
    compiled_anderson_k: int = 8
    #: the tail estimate reads the last ``rate_window`` ratios of sweep decreases...
    rate_window: int = 3
    #: ... and is trusted once the estimate made ``check_lag`` sweeps earlier held
    check_lag: int = 2
    #: the largest inflation of the geometric tail for growing ratios
    max_inflation: float = 50.0
    #: IRLS curvature weights are floored here (keeps the working response finite
    #: for confidently classified samples, whose weight then hardly matters)
    weight_floor: float = 1e-10
    #: the compiled path driver serves problems (after the Gram form) of at most this
    #: many entries; beyond, the Python driver's float32 / reused gradient passes pay
    compiled_max_size: int = 1_000_000
    #: ... with ``tol >= compiled_loose_tol`` or ``n >= compiled_tall_ratio * p`` in the
    #: original data: otherwise the Python driver's Newton step on the support pays
    compiled_loose_tol: float = 1e-4
    compiled_tall_ratio: float = 2.0
    #: for a datafit that is not quadratic (logistic) the compiled path driver serves
    #: problems of at most this many entries: beyond, a round costs more than the Python
    #: driver's overhead and its Newton step on the support (after CD stalls on the
    #: reweighted model) pays (the corpus tables on either side: bench/README.md)
    compiled_max_size_curved: int = 250_000

    # ---- the multinomial prox-Newton solver (:mod:`.multinomial`); it also reads
    # ``anderson_k`` (extrapolation of its model's CD iterates), ``max_epochs``,
    # ``ws_min``, ``ws_growth``, ``inner_fraction`` and ``max_outer_multiclass``
    #: sweeps of CD on one row's ``K``-dimensional model (and on the intercepts'): a row
    #: sweep costs ``K^2`` flops against ``n K`` for the pass over the column
    row_sweeps: int = 30
    #: a row's sweeps stop once their largest step (times the square root of the
    #: coordinate's curvature) is below this fraction of the first sweep's
    row_settled: float = 1e-3
    #: Newton steps per compiled call (per working-set round)
    max_newton: int = 100
    #: each Newton step's model is minimized until its largest KKT violation on the
    #: working set is below this fraction of the true one at the step's start (an
    #: inexact Newton step with a forcing term: the outer rate is linear with this
    #: ratio, superlinear when the model's own convergence drops the violation faster)
    newton_forcing: float = 0.1
    #: at most this many epochs of CD on one model (then the step is taken as it is:
    #: inexact, the line search keeps it a descent step)
    max_model_epochs: int = 2000
    #: after a rejected Anderson extrapolation the next 1, 2, 4... are skipped, at most
    #: this many (a model where extrapolation fails keeps failing)
    anderson_max_skip: int = 16
    #: the model's minimizer on the orthant of CD's point (one linear solve) is tried
    #: once CD has spent at least ``support_min_epochs`` epochs on the model and what
    #: the solve costs, its flop count weighed by ``support_cost`` against the epochs'
    #: (the solve's unit-stride products run several times faster per flop than an
    #: epoch's per-entry updates); only on supports of at most ``support_max_size``
    #: entries x samples (the solve forms the support's columns densely), with at most
    #: ``support_drops`` active-set rounds (entries dropped where signs flip)
    support_min_epochs: int = 5
    support_cost: float = 0.1
    support_max_size: int = 4_000_000
    support_drops: int = 10
    #: the line search: Armijo constant on the prox-Newton decrement, the relative
    #: increase of the objective accepted as rounding (near the solution the decrement
    #: is below the objective's rounding), and the most halvings of the step
    armijo: float = 1e-4
    rounding: float = 1e-14
    line_search_steps: int = 40
    #: a working set is not solved below this many units of rounding of its gradient
    #: entries (times the sum of the magnitudes of their terms): below, steps are noise
    rounding_ulps: float = 16.0

    def kernel(self, anderson_k: int | None = None) -> KernelSettings:
        """The constants the compiled epoch loop reads (``anderson_k``: another
        extrapolation period, e.g. ``compiled_anderson_k``)."""
        out = self._typed[KernelSettings]
        return out if anderson_k is None else out._replace(anderson_k=int(anderson_k))

    def rounds(self, inner_fraction: float | None = None) -> RoundSettings:
        """The constants the rules and the compiled outer loop read (``inner_fraction``:
        another one, e.g. ``compiled_inner_fraction_curved``)."""
        out = self._typed[RoundSettings]
        return out if inner_fraction is None else \
            out._replace(inner_fraction=float(inner_fraction))

    def multinomial(self) -> MultinomialSettings:
        """The constants the compiled multinomial solver reads."""
        return self._typed[MultinomialSettings]

    @functools.cached_property
    def _typed(self) -> dict:
        """Each named tuple below filled from these settings, each value cast to its
        field's type (an int where a float was would compile the kernels again)."""
        out = {}
        for cls in (KernelSettings, RoundSettings, MultinomialSettings):
            hints = typing.get_type_hints(cls)
            out[cls] = cls(*(hints[f](getattr(self, f)) for f in cls._fields))
        return out


def _subset(name: str, fields: str) -> type:
    """A named tuple of some :class:`CDSettings` fields, with their types: numba takes it
    as one typed argument (no positional float array to keep in sync)."""
    hints = typing.get_type_hints(CDSettings)
    return NamedTuple(name, [(f, hints[f]) for f in fields.split()])


#: the constants the compiled epoch loop reads
KernelSettings = _subset("KernelSettings", "anderson_k rate_window check_lag max_inflation")
#: the constants the rules (:mod:`.rules`) and the compiled path driver's outer loop read
RoundSettings = _subset("RoundSettings", "max_outer ws_min ws_growth inner_fraction settled "
                        "tail_safety outside_safety weight_floor max_undershoot rate_window "
                        "max_inflation")
#: the constants the compiled multinomial solver reads
MultinomialSettings = _subset(
    "MultinomialSettings", "row_sweeps row_settled max_newton newton_forcing max_model_epochs "
    "anderson_k anderson_max_skip support_min_epochs support_cost support_max_size "
    "support_drops armijo rounding line_search_steps rounding_ulps")


DEFAULT = CDSettings()
