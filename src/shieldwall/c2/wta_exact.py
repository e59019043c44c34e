"""Exact static weapon-target assignment by outer approximation on HiGHS (docs/formats.md §8).

Problem: minimize ``F(x) = sum_j f_j(x_.j)``, ``f_j = V_j prod_i q_ij ** x_ij`` with
``q_ij = 1 - p_ij``, over integers ``x_ij >= 0`` with ``sum_j x_ij <= n_i``.

Formulation
-----------
Each target's survival is replaced by an epigraph variable ``y_j >= f_j`` and ``f_j`` by linear
cuts added in a loop, the outer-approximation scheme of Andersen, Pavlikov & Toffolo (2022,
"Weapon-target assignment problem: exact and approximate solution algorithms", Annals of
Operations Research). The integer ``x_ij`` is written with "slot" binaries ``u_ijk`` (``u_ijk =
1`` iff ``x_ij >= k``, ``u_ijk <= u_ij,k-1``, ``k = 1..n_i``), and ``f_j`` is treated as a set
function of the slots on target j. Instead of the tangents of the log transform ``V_j
exp(-s_j)``, ``s_j = sum_i -ln(q_ij) x_ij``, three cut families valid at every integer point are
used (none needs a logarithm, so ``p = 1`` is exact and ``p = 0`` slots do not exist):

(A), (B) -- submodular inequalities (Nemhauser, Wolsey & Fisher 1978; for concave utilities
Ahmed & Atamturk 2011, Math. Prog. 128). ``V_j - f_j`` is submodular (the marginal gain
``f(S) p_e`` of slot ``e`` shrinks as ``S`` grows), so for every slot set ``S``::

    (A) y_j >= f(S) - sum_{e not in S} f(S) p_e u_e + sum_{e in S} rho_e(N - e) (1 - u_e)
    (B) y_j >= f(S) - sum_{e not in S} V_j p_e u_e  + sum_{e in S} rho_e(S - e) (1 - u_e)

with ``rho_e(T) = f(T) - f(T + e)`` and ``N`` all slots of target j; both are exact at ``S``.
A tangent at ``s`` charges ``-ln(q) >= p`` per added weapon, (A) only ``p``.

(P) -- rank cuts (derived here). Order the weapons of ``S`` by decreasing ``p``; the r-th one
removes ``f(S_{r-1}) p_e <= V_j p_e q_e^(r-1)`` (every earlier weapon has ``q <= q_e``), so
``f(S) >= V_j - sum_r V_j p_{e_r} q_{e_r}^(r-1)``. Splitting the rank weights and bounding the
sum of the ``m`` largest terms by ``m lambda + sum_e (d_e - lambda)^+ u_e`` gives, for any
``lambda_1..M >= 0``::

    (P) y_j >= V_j - sum_e V_j p_e q_e^M u_e
               - sum_{m=1..M} [ m lambda_m + sum_e (V_j p_e^2 q_e^(m-1) - lambda_m)^+ u_e ]

which is exact at every single-weapon point and captures that a second weapon on a target
saves much less than the first -- the "assignment-like" structure that makes the plain
relaxation weak (root bound 52 % of the optimum at 80 x 80 with (A) and (B) only, 99.9 % with
(P)).

Algorithm
---------
1. Initial cuts: (A) at ``S = {}`` (``y_j >= V_j (1 - sum_i p_ij x_ij)``), (A) at the singletons
   of the best few weapons of each target, (A) and (B) at the heuristic incumbent.
2. Root cut loop on the LP relaxation: separate (A), (B) at the prefix sets of the slots sorted
   by LP value and (P) with the ``lambda_m`` minimizing each bracket, until the bound stalls.
3. Reduced-cost fixing against the incumbent after every LP (a slot whose reduced cost lifts the
   LP bound above the incumbent's objective keeps its LP value in any better solution); cuts
   slack at the last LP point are dropped before the MILP.
4. MILP loop: solve with the incumbent as start and its true objective as cutoff
   (``objective_bound``); every improving integer solution HiGHS saved updates the incumbent
   (true objective: upper bound) and adds (A), (B) where ``y_j < f_j``; the MILP's dual bound is
   a lower bound (the MILP is a relaxation). Stop when the relative gap ``(UB - LB) / UB <=
   1e-6``, when the MILP optimum needs no cut (then it is the optimum), or at the time limit.

Values are scaled so that the incumbent's objective is 1 (HiGHS's tolerances are absolute), so
the gap is relative. That is not enough when the optimum is a tiny fraction of the target
values (3e-8 of them: rows of size 1e7 in units of the objective, where HiGHS's tolerances are
worth more than the objective, and its LP "optimum" was 1.01 where the true one is 2e-4):
HiGHS runs with tolerances of 1e-9, every LP bound used is the safe Lagrangian bound of its duals
(``_SafeBound``: valid whatever the duals, less its rounding error), reduced-cost fixing uses
that bound, and the MILP's dual bound (and its "no better point" statuses) count only while
HiGHS's LP objectives on the model agree with the safe bounds to a tenth of the gap. Otherwise
the gap reported is the one proven by the safe bounds, and ``optimal`` is false unless it is
within ``OPTIMALITY_GAP``. Values above ``MAX_VALUE_RATIO`` times the start's objective are not
attempted (the start is returned with the bound 0).
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import numpy.typing as npt

from shieldwall.c2.wta_core import OPTIMALITY_GAP, greedy_mmr, validate_instance, wta_objective
from shieldwall.core.types import BoolArray, FloatArray, IntArray

#: Largest target value, in units of the start's objective, the MILP is built for (HiGHS
#: refuses matrix coefficients above 1e15).
MAX_VALUE_RATIO = 1e12

_TINY = 2e-9  # smallest matrix coefficient passed to HiGHS (its small_matrix_value is 1e-9)


@dataclass(frozen=True)
class ExactResult:
    """Outcome of ``exact_wta``.

    x : (I, J) int64 best assignment found; objective : its ``F(x)``; lower_bound : proven lower
    bound on the optimum; gap : relative gap ``(objective - lower_bound) / objective`` (0 when the
    objective is 0); optimal : ``gap <= OPTIMALITY_GAP``; rounds : MILP solves; cuts : cuts added.
    """

    x: IntArray
    objective: float
    lower_bound: float
    gap: float
    optimal: bool
    rounds: int
    cuts: int


def _relative_gap(upper: float, lower: float) -> float:
    if upper <= 0.0:
        return 0.0
    return max(0.0, (upper - lower) / upper)


@dataclass
class _Rows:
    """A batch of rows ``y_j + sum coef u >= rhs`` in CSR form."""

    starts: npt.NDArray[np.int32]
    index: npt.NDArray[np.int32]
    value: FloatArray
    lower: FloatArray

    @property
    def size(self) -> int:
        return int(self.lower.size)


class _Slots:
    """Slot bookkeeping, padded per target: arrays of shape (J, K), K = most slots of a target."""

    def __init__(self, v: FloatArray, n: IntArray, p: FloatArray,
                 pair_caps: IntArray | None = None) -> None:
        n_types, n_targets = p.shape
        self.v, self.n, self.p = v, n, p
        ii, jj = np.nonzero((p > 0.0) & (n[:, None] > 0))
        per = n[ii] if pair_caps is None else np.minimum(n[ii], pair_caps[ii, jj])
        e_type = np.repeat(ii, per)
        e_target = np.repeat(jj, per)
        e_level = np.arange(per.sum()) - np.repeat(np.cumsum(per) - per, per) + 1
        order = np.lexsort((e_level, e_type, e_target))
        e_type, e_target, e_level = e_type[order], e_target[order], e_level[order]
        self.n_slots = int(e_type.size)
        self.n_targets = n_targets
        counts = np.bincount(e_target, minlength=n_targets)
        k_max = int(counts.max()) if n_targets else 0
        pos = np.arange(self.n_slots) - np.repeat(np.cumsum(counts) - counts, counts)
        shape = (n_targets, k_max)
        self.valid = np.zeros(shape, bool)
        self.valid[e_target, pos] = True
        self.col = np.zeros(shape, np.int64)
        self.col[e_target, pos] = n_targets + np.arange(self.n_slots)
        self.type = np.zeros(shape, np.int64)
        self.type[e_target, pos] = e_type
        self.level = np.zeros(shape, np.int64)
        self.level[e_target, pos] = e_level
        self.pe = np.zeros(shape)
        self.pe[e_target, pos] = p[e_type, e_target]
        self.e_type, self.e_target, self.e_level = e_type, e_target, e_level
        self.sure = (self.pe >= 1.0) & self.valid
        with np.errstate(divide="ignore"):
            self.lq = np.where(self.sure | ~self.valid, 0.0, np.log1p(-np.minimum(self.pe, 1.0)))
        # rho_e(N - e) = f(N - e) - f(N) (cut A), N = all slots of the target.
        tot_l = self.lq.sum(axis=1, keepdims=True)
        tot_z = self.sure.sum(axis=1, keepdims=True)
        f_n = np.where(tot_z > 0, 0.0, v[:, None] * np.exp(tot_l))
        f_ne = np.where(tot_z - self.sure > 0, 0.0, v[:, None] * np.exp(tot_l - self.lq))
        self.rho_full = np.where(self.valid, np.maximum(f_ne - f_n, 0.0), 0.0)

    # ----------------------------------------------------------------- cut construction
    def survival(self, targets: IntArray, in_set: BoolArray) -> FloatArray:
        """``f_j(S)`` for rows (targets (R,), in_set (R, K))."""
        tot_l = np.where(in_set, self.lq[targets], 0.0).sum(axis=1)
        tot_z = (in_set & self.sure[targets]).sum(axis=1)
        return np.where(tot_z > 0, 0.0, self.v[targets] * np.exp(tot_l))

    def submodular(self, targets: IntArray, in_set: BoolArray, family: str
                   ) -> tuple[FloatArray, FloatArray]:
        """Coefficients (R, K) and ``f(S)`` (R,) of cut (A) or (B) at the slot sets ``in_set``."""
        in_set = in_set & self.valid[targets]
        pe = self.pe[targets]
        f_s = self.survival(targets, in_set)
        if family == "A":
            coef = np.where(in_set, self.rho_full[targets], f_s[:, None] * pe)
        else:
            lq, sure = self.lq[targets], self.sure[targets]
            tot_l = np.where(in_set, lq, 0.0).sum(axis=1, keepdims=True)
            tot_z = (in_set & sure).sum(axis=1, keepdims=True)
            f_minus = np.where(tot_z - sure > 0, 0.0,
                               self.v[targets][:, None] * np.exp(tot_l - lq))
            coef = np.where(in_set, np.maximum(f_minus - f_s[:, None], 0.0),
                            self.v[targets][:, None] * pe)
        return np.where(self.valid[targets], coef, 0.0), f_s

    def rank_weights(self, targets: IntArray, m: int) -> FloatArray:
        """``d_e = V_j p_e^2 q_e^(m-1)`` (R, K): the rank-m term of cut (P)."""
        pe = self.pe[targets]
        return self.v[targets][:, None] * pe * pe * (1.0 - pe) ** (m - 1)

    def rank(self, targets: IntArray, lambdas: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Coefficients (R, K) and right-hand side (R,) of cut (P), thresholds (R, M)."""
        pe = self.pe[targets]
        depth = lambdas.shape[1]
        coef = self.v[targets][:, None] * pe * (1.0 - pe) ** depth
        rhs = self.v[targets].copy()
        for m in range(1, depth + 1):
            lam = lambdas[:, m - 1]
            coef = coef + np.maximum(self.rank_weights(targets, m) - lam[:, None], 0.0)
            rhs -= m * lam
        return np.where(self.valid[targets], coef, 0.0), rhs

    def best_lambdas(self, targets: IntArray, u: FloatArray, depth: int) -> FloatArray:
        """Thresholds (R, depth) minimizing ``m lambda + sum_e (d_e - lambda)^+ u_e`` at ``u``."""
        out = np.zeros((targets.size, depth))
        rows = np.arange(targets.size)
        for m in range(1, depth + 1):
            d = np.where(self.valid[targets], self.rank_weights(targets, m), -1.0)
            order = np.argsort(-d, axis=1, kind="stable")
            cum = np.cumsum(np.take_along_axis(u, order, axis=1), axis=1)
            reach = cum >= m - 1e-12
            k = np.argmax(reach, axis=1)
            chosen = np.take_along_axis(d, order, axis=1)[rows, k]
            out[:, m - 1] = np.where(reach.any(axis=1), np.maximum(chosen, 0.0), 0.0)
        return out

    def rows(self, targets: IntArray, in_set: BoolArray, coef: FloatArray,
             rhs_base: FloatArray) -> _Rows:
        """CSR rows of ``y_j >= rhs_base + sum_{S} coef (1 - u) - sum_{not S} coef u``.

        HiGHS treats entries below 1e-9 as zero, so tiny coefficients are made safe: inside
        ``S`` the term ``coef_e (1 - u_e) >= 0`` is dropped (the cut only weakens); outside
        ``S`` the coefficient is raised to ``_TINY`` (a larger subtraction, weaker).
        """
        valid = self.valid[targets]
        in_set = in_set & valid
        keep_in = in_set & (coef >= _TINY)
        out_s = ~in_set & valid & (coef > 0.0)
        coef = np.where(out_s, np.maximum(coef, _TINY), coef)
        keep = keep_in | out_s
        lower = rhs_base + np.where(keep_in, coef, 0.0).sum(axis=1)
        full_keep = np.concatenate([np.ones((targets.size, 1), bool), keep], axis=1)
        full_col = np.concatenate([targets[:, None], self.col[targets]], axis=1)
        full_val = np.concatenate([np.ones((targets.size, 1)), coef], axis=1)
        lengths = full_keep.sum(axis=1)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int32)
        return _Rows(starts, full_col[full_keep].astype(np.int32), full_val[full_keep], lower)

    def cuts_at(self, targets: IntArray, in_set: BoolArray, families: str = "AB") -> list[_Rows]:
        out = []
        for family in families:
            coef, f_s = self.submodular(targets, in_set, family)
            out.append(self.rows(targets, in_set, coef, f_s))
        return out

    def in_set_of(self, targets: IntArray, x: IntArray) -> BoolArray:
        """Slot sets (R, K) of assignment ``x`` (I, J) on ``targets``."""
        return self.valid[targets] & (self.level[targets]
                                      <= x[self.type[targets], targets[:, None]])

    # ----------------------------------------------------------------- solutions
    def x_from_u(self, col_value: FloatArray) -> IntArray:
        """Assignment ``x`` (I, J) from a MILP solution's slot binaries (rounded)."""
        u = np.rint(np.asarray(col_value)[self.n_targets:self.n_targets + self.n_slots])
        x = np.zeros(self.p.shape, np.int64)
        np.add.at(x, (self.e_type, self.e_target), u.astype(np.int64))
        return x

    def start_vector(self, x: IntArray) -> FloatArray:
        """Column values of assignment ``x``: ``y_j = f_j(x)`` and the slot binaries."""
        u = (self.e_level <= x[self.e_type, self.e_target]).astype(float)
        survive = np.prod((1.0 - self.p) ** x, axis=0) * self.v
        return np.concatenate([survive, u])


def _merge(batches: list[_Rows]) -> _Rows:
    batches = [b for b in batches if b.size]
    if not batches:
        return _Rows(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0), np.zeros(0))
    offsets = np.cumsum([0] + [b.index.size for b in batches[:-1]])
    return _Rows(np.concatenate([b.starts + o for b, o in zip(batches, offsets, strict=True)]
                                ).astype(np.int32),
                 np.concatenate([b.index for b in batches]),
                 np.concatenate([b.value for b in batches]),
                 np.concatenate([b.lower for b in batches]))


def _add_rows(h: highspy.Highs, rows: _Rows) -> int:
    """Add the cut rows; the number HiGHS really added (it refuses a batch holding a
    coefficient or bound beyond its limits: the model then only lacks those valid cuts)."""
    if not rows.size:
        return 0
    before = h.getNumRow()
    h.addRows(rows.size, rows.lower, np.full(rows.size, highspy.kHighsInf),
              rows.index.size, rows.starts, rows.index, rows.value)
    return int(h.getNumRow() - before)


@dataclass(frozen=True)
class _SafeBound:
    """A lower bound on the LP (hence on every integer point of it) that does not trust the
    LP solver's optimality: ``bound`` is the Lagrangian value of the solver's row duals
    (Neumaier & Shcherbina 2004, "Safe bounds in linear and mixed-integer linear
    programming", Math. Prog. 99), valid for any duals, less a bound on its rounding error;
    ``reduced`` the reduced costs ``c - A^T pi`` it used and ``col_lower``/``col_upper`` the
    column bounds it minimized over; ``rounding`` the error allowance subtracted."""

    bound: float
    rounding: float
    reduced: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray


def _safe_bound(h: highspy.Highs, solution: highspy.HighsSolution) -> _SafeBound:
    """``min c x`` over ``row_lower <= A x <= row_upper``, ``col_lower <= x <= col_upper`` is at
    least ``sum_i pi_i b_i + sum_j min(d_j l_j, d_j u_j)`` with ``d = c - A^T pi`` for every
    ``pi`` (``b_i`` the row bound its sign selects). HiGHS's duals make it tight when HiGHS is
    right; when its tolerances stop the simplex early (values far above the objective, as at
    an optimum of 1e-8 of a target's value), this bound stays valid while HiGHS's objective
    does not."""
    lp = h.getLp()
    inf = highspy.kHighsInf
    n_rows, n_cols = int(lp.num_row_), int(lp.num_col_)
    a = lp.a_matrix_
    start = np.asarray(a.start_, np.int64)
    index = np.asarray(a.index_, np.int64)
    value = np.asarray(a.value_, float)
    counts = np.diff(start)
    if a.format_ == highspy.MatrixFormat.kRowwise:
        row_of, col_of = np.repeat(np.arange(n_rows), counts), index
    else:
        row_of, col_of = index, np.repeat(np.arange(n_cols), counts)
    row_lower = np.asarray(lp.row_lower_, float)
    row_upper = np.asarray(lp.row_upper_, float)
    col_lower = np.asarray(lp.col_lower_, float)
    col_upper = np.asarray(lp.col_upper_, float)
    cost = np.asarray(lp.col_cost_, float)
    pi = np.asarray(solution.row_dual, float)[:n_rows].copy()
    # A dual whose row bound is infinite contributes -inf: use 0 there (still a valid pi).
    pi[((pi > 0.0) & ~(row_lower > -inf)) | ((pi < 0.0) & ~(row_upper < inf))] = 0.0
    pi[~np.isfinite(pi)] = 0.0
    rhs = np.where(pi > 0.0, row_lower, np.where(pi < 0.0, row_upper, 0.0))
    products = value * pi[row_of]
    # (weighted bincount is float; numpy's stubs say int)
    reduced = cost - np.asarray(np.bincount(col_of, weights=products, minlength=n_cols), float)
    magnitude = np.bincount(col_of, weights=np.abs(products), minlength=n_cols) + np.abs(cost)
    col_at = np.where(reduced > 0.0, col_lower, np.where(reduced < 0.0, col_upper, 0.0))
    if not np.all(np.isfinite(col_at)):
        return _SafeBound(-np.inf, 0.0, reduced, col_lower, col_upper)
    row_terms = pi * rhs
    col_terms = reduced * col_at
    bound = math.fsum(row_terms.tolist()) + math.fsum(col_terms.tolist())
    # First-order rounding error of the products and of the sums forming d (entries per
    # column + 2 roundings each), with a factor 4 to spare.
    per_col = np.bincount(col_of, minlength=n_cols) + 2.0
    big = np.maximum(np.abs(col_lower), np.abs(col_upper))
    big = np.where(np.isfinite(big), big, np.abs(col_at))
    error = 4.0 * np.finfo(float).eps * (float(np.abs(row_terms).sum())
                                         + float((per_col * magnitude * big).sum()))
    return _SafeBound(bound - error, error, reduced, col_lower, col_upper)


def _solve_lp(h: Any, deadline: float, solver: str) -> float | None:
    """Run the LP with the time left and ``solver``; its objective, or None when out of time
    or not solved to optimality."""
    if time.perf_counter() >= deadline:
        return None
    h.setOptionValue("time_limit", float(max(deadline - time.perf_counter(), 1e-3)))
    h.setOptionValue("solver", solver)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return float(h.getInfo().objective_function_value)


def _separate(slots: _Slots, col: FloatArray, depth: int = 4, positions: int = 3,
              per_target: int = 2) -> _Rows:
    """Most violated cuts at an LP point ``col`` (all column values), per target at most
    ``per_target``: (A), (B) at the prefix sets of the slots by decreasing ``u*`` (sizes
    ``0..depth``) and at ``{u* >= 1/2}``; (P) with ``M = 1..positions`` and the best
    thresholds."""
    targets = np.flatnonzero(slots.valid.any(axis=1))
    if targets.size == 0:
        return _merge([])
    valid = slots.valid[targets]
    u = np.where(valid, col[slots.col[targets]], 0.0)
    y = col[targets]
    order = np.argsort(-u, axis=1, kind="stable")
    rank_of = np.empty_like(order)
    np.put_along_axis(rank_of, order, np.arange(u.shape[1])[None, :].repeat(targets.size, 0),
                      axis=1)
    sets = [(rank_of < k) & (u > 1e-9) for k in range(min(depth, u.shape[1]) + 1)]
    sets.append(u >= 0.5)
    candidates: list[tuple[BoolArray, FloatArray, FloatArray]] = []
    for in_set in sets:
        for family in "AB":
            coef, f_s = slots.submodular(targets, in_set, family)
            candidates.append((in_set, coef, f_s))
    none = np.zeros_like(valid)
    for m in range(1, positions + 1):
        coef, rhs = slots.rank(targets, slots.best_lambdas(targets, u, m))
        candidates.append((none, coef, rhs))
    violation = np.empty((len(candidates), targets.size))
    for c, (in_set, coef, base) in enumerate(candidates):
        # Row: y + sum_{S} coef u + sum_{not S} coef u >= base + sum_{S} coef
        rhs = base + np.where(in_set, coef, 0.0).sum(axis=1)
        violation[c] = rhs - y - (coef * u).sum(axis=1)
    threshold = 1e-7 * np.maximum(slots.v[targets], 1e-9)
    best = np.argsort(-violation, axis=0, kind="stable")[:per_target]   # (per_target, R)
    batches = []
    for r in range(best.shape[0]):
        c_idx = best[r]
        prev = violation[best[r - 1], np.arange(targets.size)] if r else None
        chosen = violation[c_idx, np.arange(targets.size)]
        ok = chosen > threshold
        if prev is not None:
            ok &= np.abs(prev - chosen) > 1e-12 * np.maximum(np.abs(chosen), 1.0)
        for c in np.unique(c_idx[ok]):
            sel = np.flatnonzero(ok & (c_idx == c))
            in_set, coef, base = candidates[c]
            batches.append(slots.rows(targets[sel], in_set[sel], coef[sel], base[sel]))
    return _merge(batches)


def _fix_by_reduced_cost(h: highspy.Highs, safe: _SafeBound, upper: float,
                         slot_cols: npt.NDArray[np.int32]) -> None:
    """Reduced-cost fixing on the safe bound: an integer point with slot ``e`` away from the
    bound that minimizes its term costs at least ``safe.bound + |d_e|`` (binary range 1); when
    that exceeds the incumbent's objective, ``e`` keeps that bound in every better solution."""
    d = safe.reduced[slot_cols]
    free = safe.col_upper[slot_cols] > safe.col_lower[slot_cols]
    margin = upper + 1e-9 * max(upper, 1e-12)
    lift = safe.bound + np.abs(d) > margin
    for idx, level in ((np.flatnonzero(free & lift & (d > 0.0)), 0.0),
                       (np.flatnonzero(free & lift & (d < 0.0)), 1.0)):
        if idx.size:
            h.changeColsBounds(idx.size, slot_cols[idx], np.full(idx.size, level),
                               np.full(idx.size, level))


def _new_highs() -> highspy.Highs:
    """A silent HiGHS instance (its constructor prints a banner on file descriptor 1)."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):
        h = highspy.Highs()
    else:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
    h.setOptionValue("output_flag", False)
    return h


def exact_wta(values: npt.ArrayLike, counts: npt.ArrayLike, pk: npt.ArrayLike,
              x_start: npt.ArrayLike | None = None, *, time_limit_s: float | None = None,
              singleton_cuts: int = 4, rank_cuts: tuple[int, ...] = (),
              incumbent_cuts: int = 0,
              root_rounds: int = 60, threads: int = 1, warm_targets: int = 20,
              first_lp_solver: str = "simplex",
              pair_caps: npt.ArrayLike | None = None) -> ExactResult:
    """Prove an optimal assignment (or bound the gap) by the algorithm of the module docstring.

    Parameters
    ----------
    values : (J,) target values V_j >= 0
    counts : (I,) weapons per type n_i >= 0
    pk : (I, J) kill probabilities in [0, 1]
    x_start : (I, J) feasible incumbent (e.g. ``heuristic_wta``); default the greedy MMR
    time_limit_s : wall-clock budget in seconds (None: until proven)
    singleton_cuts : per target, initial cuts (A) at ``{e}`` for this many slots of largest p
    rank_cuts : per target, initial cuts (P) with ``M = 1`` and the threshold at these ranks
        (0-based) of the target's sorted rank-1 terms ``V_j p_e^2``
    incumbent_cuts : per target, initial cuts separated at the incumbent's point (0: none)
    root_rounds : bound on the LP cut-loop rounds
    threads : HiGHS threads (1: one core)
    warm_targets : when > 0 (and J > 2 warm_targets), first run the cut loop with each weapon
        type restricted to this many best targets (a cheaper LP; its cuts stay valid)
    first_lp_solver : HiGHS ``solver`` option of the first LP (``"simplex"`` or ``"ipm"``);
        later LPs are warm-started dual simplex. The defaults of ``rank_cuts``,
        ``incumbent_cuts`` and this were the fastest tried at Ahuja 200 x 200 (benchmarks/
        RESULTS.md); the knobs stay for other instance families.
    pair_caps : (I, J) optional extra constraints ``x_ij <= pair_caps_ij`` (the problem solved,
        and bounded, is then the capped one; ``wta.cap_counts`` says why that is harmless)

    Returns
    -------
    ExactResult
        Best assignment, its objective, the proven lower bound and the relative gap; optimal
        when the relative gap is at most ``OPTIMALITY_GAP`` (1e-6).
    """
    t0 = time.perf_counter()
    deadline = np.inf if time_limit_s is None else t0 + max(float(time_limit_s), 0.0)
    v, n, p = validate_instance(values, counts, pk)
    n_types, n_targets = p.shape
    if x_start is None:
        x_best = greedy_mmr(v, n, p)
    else:
        x_best = np.array(x_start, dtype=np.int64, copy=True).reshape(n_types, n_targets)
        if np.any(x_best < 0) or np.any(x_best.sum(axis=1) > n):
            raise ValueError("x_start is not a feasible assignment")
    caps = None
    if pair_caps is not None:
        caps = np.asarray(pair_caps, np.int64).reshape(n_types, n_targets)
        x_best = np.minimum(x_best, caps)
    upper = float(wta_objective(v, p, x_best))
    if upper <= 0.0 or not np.any((p > 0.0) & (n[:, None] > 0)):
        # No useful weapon, or nothing left to save: the start is optimal.
        return ExactResult(x_best, upper, upper, 0.0, True, 0, 0)
    # HiGHS's tolerances are absolute (1e-6 to 1e-7): solve in units of the incumbent's
    # objective, so that they act as relative ones (a 0.004 optimum is otherwise "proven" with
    # a 30 % gap). Everything below is in these units until the result is built.
    scale = 1.0 / upper
    if not scale * float(v.max()) <= MAX_VALUE_RATIO:
        # The incumbent leaves less than 1e-12 of the largest target value: rescaled, that
        # value's cuts reach HiGHS's coefficient limit (1e15), and no floating-point LP
        # resolves 1e-6 of the objective there. Keep the start, with the bound 0.
        return ExactResult(x_best, upper, 0.0, 1.0, False, 0, 0)
    v = v * scale
    upper = 1.0
    slots = _Slots(v, n, p, caps)

    h = _new_highs()
    h.setOptionValue("threads", int(threads))
    h.setOptionValue("mip_rel_gap", OPTIMALITY_GAP / 10)
    h.setOptionValue("mip_abs_gap", 0.0)
    h.setOptionValue("mip_improving_solution_save", True)
    # Values up to MAX_VALUE_RATIO times the objective: HiGHS's default tolerances (1e-7) on
    # such rows are worth more than the objective. Tighter ones make its answers usually
    # right; the bounds used below are checked (_SafeBound) or, for the MILP's, trusted only
    # while HiGHS's LP bounds on this model agree with the safe ones.
    for option in ("primal_feasibility_tolerance", "dual_feasibility_tolerance",
                   "mip_feasibility_tolerance"):
        h.setOptionValue(option, 1e-9)
    inf = highspy.kHighsInf
    n_cols = n_targets + slots.n_slots
    cost = np.concatenate([np.ones(n_targets), np.zeros(slots.n_slots)])
    # y_j >= f_j(all slots): every target's floor (V_j for a target no weapon can reach).
    floor = np.where(slots.sure.any(axis=1), 0.0, v * np.exp(slots.lq.sum(axis=1)))
    h.addCols(n_cols, cost, np.concatenate([floor, np.zeros(slots.n_slots)]),
              np.concatenate([v, np.ones(slots.n_slots)]),
              0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
    slot_cols = (n_targets + np.arange(slots.n_slots)).astype(np.int32)
    # Weapons per type: sum over targets and levels <= n_i.
    order = np.argsort(slots.e_type, kind="stable")
    used, per_type = np.unique(slots.e_type[order], return_counts=True)
    h.addRows(used.size, np.full(used.size, -inf), n[used].astype(float), order.size,
              np.concatenate([[0], np.cumsum(per_type)[:-1]]).astype(np.int32),
              slot_cols[order], np.ones(order.size))
    # Level order: u_ijk - u_ij,k-1 <= 0.
    chained = np.flatnonzero(slots.e_level > 1)
    if chained.size:
        idx = np.stack([slot_cols[chained], slot_cols[chained] - 1], axis=1).reshape(-1)
        h.addRows(chained.size, np.full(chained.size, -inf), np.zeros(chained.size),
                  idx.size, (2 * np.arange(chained.size)).astype(np.int32),
                  idx.astype(np.int32), np.tile([1.0, -1.0], chained.size))
    # Initial cuts.
    targets = np.flatnonzero(slots.valid.any(axis=1))
    batches = slots.cuts_at(targets, np.zeros_like(slots.valid[targets]), "A")
    first = slots.valid[targets] & (slots.level[targets] == 1)
    by_p = np.argsort(-np.where(first, slots.pe[targets], -1.0), axis=1, kind="stable")
    for r in range(min(singleton_cuts, by_p.shape[1])):
        in_set = np.zeros_like(first)
        in_set[np.arange(targets.size), by_p[:, r]] = True
        in_set &= first
        sel = np.flatnonzero(in_set.any(axis=1))
        batches += slots.cuts_at(targets[sel], in_set[sel], "A")
    batches += slots.cuts_at(targets, slots.in_set_of(targets, x_best), "AB")
    # Rank cuts (P), M = 1, with the threshold at the k-th largest rank-1 term of each target.
    d_sorted = -np.sort(-np.where(slots.valid[targets], slots.rank_weights(targets, 1), 0.0),
                        axis=1)
    none = np.zeros_like(slots.valid[targets])
    for k in rank_cuts:
        if k < d_sorted.shape[1]:
            coef, rhs = slots.rank(targets, d_sorted[:, k:k + 1])
            batches.append(slots.rows(targets, none, coef, rhs))
    if incumbent_cuts:
        # The cuts the separation would pick at the incumbent's point (with y = 0): tight
        # where the optimum usually is, so the first LPs start near the final bound.
        point = slots.start_vector(x_best)
        point[:n_targets] = 0.0
        batches.append(_separate(slots, point, per_target=incumbent_cuts))
    n_cuts = _add_rows(h, _merge(batches))

    # Root cut loop on the LP relaxation.
    structural_rows = h.getNumRow() - n_cuts
    continuous = np.full(slots.n_slots, highspy.HighsVarType.kContinuous)
    integer = np.full(slots.n_slots, highspy.HighsVarType.kInteger)
    h.changeColsIntegrality(slots.n_slots, slot_cols, continuous)
    lower_bound = 0.0
    if warm_targets and n_targets > 2 * warm_targets:
        # Warm-up: the same cut loop with each weapon type limited to its best targets by
        # V_j p_ij (and the incumbent's). Its bound is not valid, but its cuts are, and they
        # make the full loop below start close to its final bound.
        best = np.argsort(-(v[None, :] * p), axis=1, kind="stable")[:, :warm_targets]
        allowed = x_best > 0
        allowed[np.arange(n_types)[:, None], best] = True
        blocked = np.flatnonzero(~allowed[slots.e_type, slots.e_target])
        zeros = np.zeros(blocked.size)
        h.changeColsBounds(blocked.size, slot_cols[blocked], zeros, zeros)
        previous = -np.inf
        for lp_round in range(root_rounds):
            solved = _solve_lp(h, deadline, first_lp_solver if lp_round == 0 else "simplex")
            if solved is None:
                break
            bound = solved
            if bound - previous < 1e-5 * max(upper, 1e-12):
                break
            previous = bound
            new_rows = _separate(slots, np.asarray(h.getSolution().col_value))
            if not new_rows.size:
                break
            n_cuts += _add_rows(h, new_rows)
        h.changeColsBounds(blocked.size, slot_cols[blocked], zeros, np.ones(blocked.size))
    previous = -np.inf
    last_solution = None
    trust_highs_bounds = True
    for lp_round in range(root_rounds):
        solved = _solve_lp(h, deadline, first_lp_solver if lp_round == 0 else "simplex")
        if solved is None:
            break
        bound = solved
        solution = last_solution = h.getSolution()
        safe = _safe_bound(h, solution)
        # HiGHS's objective is the bound only as far as its tolerances go; the safe bound is
        # the one used, and a disagreement past a tenth of the optimality gap means HiGHS's
        # bounds on this model (the MILP's dual bound included) cannot be taken as proofs.
        if bound - (safe.bound + safe.rounding) > 0.1 * OPTIMALITY_GAP * upper:
            trust_highs_bounds = False
        lower_bound = max(lower_bound, min(safe.bound, upper))
        _fix_by_reduced_cost(h, safe, upper, slot_cols)
        if bound - previous < 1e-6 * max(upper, 1e-12) or \
                _relative_gap(upper, lower_bound) <= OPTIMALITY_GAP:
            break
        previous = bound
        new_rows = _separate(slots, np.asarray(solution.col_value))
        if not new_rows.size:
            break
        n_cuts += _add_rows(h, new_rows)
        last_solution = None
    if last_solution is not None:
        # Cuts slack at the last LP point only slow the MILP's node LPs down: drop them.
        lp = h.getLp()
        activity = np.asarray(last_solution.row_value)[structural_rows:]
        row_lower = np.asarray(lp.row_lower_)[structural_rows:]
        # (every cut row has a finite lower bound; _add_rows counts only the rows added)
        slack = np.flatnonzero(np.isfinite(row_lower) & (
            activity > row_lower + 1e-6 * np.maximum(1.0, np.abs(row_lower))))
        if slack.size:
            h.deleteRows(slack.size, (structural_rows + slack).astype(np.int32))
    h.changeColsIntegrality(slots.n_slots, slot_cols, integer)
    h.setOptionValue("solver", "choose")
    h.setOptionValue("mip_heuristic_effort", 0.0)

    rounds = 0
    seen: set[bytes] = set()
    while _relative_gap(upper, lower_bound) > OPTIMALITY_GAP:
        remaining = deadline - time.perf_counter()
        if remaining <= 0.0:
            break
        rounds += 1
        h.setOptionValue("time_limit", float(min(remaining, 1e9)))
        h.setOptionValue("objective_bound", upper)
        start = highspy.HighsSolution()
        start.col_value = list(slots.start_vector(x_best))
        start.value_valid = True
        h.setSolution(start)
        h.run()
        status = h.getModelStatus()
        info = h.getInfo()
        if trust_highs_bounds and status in (highspy.HighsModelStatus.kInfeasible,
                                             highspy.HighsModelStatus.kObjectiveBound):
            lower_bound = upper  # nothing below the incumbent, even in the relaxation
            break
        dual = float(info.mip_dual_bound) if trust_highs_bounds else -np.inf
        if np.isfinite(dual):
            lower_bound = max(lower_bound, min(dual, upper))
        candidates = [np.asarray(s.col_value) for s in h.getSavedMipSolutions()]
        if info.primal_solution_status == 2:  # a feasible final solution
            candidates.append(np.asarray(h.getSolution().col_value))
        batches = []
        final_exact = bool(candidates)
        for k, col in enumerate(candidates):
            x = slots.x_from_u(col)
            if np.any(x.sum(axis=1) > n):
                continue
            survive = np.prod((1.0 - p) ** x, axis=0) * v
            objective = float(survive.sum())
            if objective < upper:
                upper, x_best = objective, x
            violated = np.flatnonzero(col[:n_targets] < survive - 1e-9 * max(upper, 1e-12))
            violated = violated[slots.valid[violated].any(axis=1)]
            if k == len(candidates) - 1 and violated.size:
                final_exact = False
            key = x.tobytes()
            if key in seen or not violated.size:
                continue
            seen.add(key)
            batches += slots.cuts_at(violated, slots.in_set_of(violated, x), "AB")
        added = _add_rows(h, _merge(batches))
        n_cuts += added
        if final_exact and np.isfinite(dual):
            # HiGHS's own objective of its solution is not trusted: recompute it.
            final_exact = float(np.sum(candidates[-1][:n_targets])) <= dual + 1e-7 * upper
        if status == highspy.HighsModelStatus.kOptimal and final_exact and trust_highs_bounds:
            # The MILP optimum is exact at its own point: it is the optimum of F.
            lower_bound = max(lower_bound, min(dual, upper))
            break
        if not added:
            break  # time limit (or solver trouble) with nothing left to learn
    gap = _relative_gap(upper, lower_bound)
    objective = float(wta_objective(v, p, x_best)) / scale
    return ExactResult(x_best, objective, float(min(lower_bound / scale, objective)),
                       float(gap), bool(gap <= OPTIMALITY_GAP), rounds, n_cuts)
