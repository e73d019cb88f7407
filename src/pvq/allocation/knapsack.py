"""The multiple-choice knapsack behind the allocation: one option per group (tensor), least total cost
(error) with total size (storage bits) within a capacity.

    minimise sum_i cost_i x_i  s.t.  sum_{i in g} x_i = 1 for every group g,  sum_i size_i x_i <= C,  x binary

``milp`` solves it exactly with PuLP (HiGHS or CBC), recording the solver's status and time; ``greedy``
is the Lagrangian heuristic: walk every group's lower convex hull of (size, cost) from its cheapest
option, taking the upgrades with the steepest error decrease per bit first while they fit, then spend
what is left on the best single switches. Sizes are integers (bits), so the budget row uses the
capacity floor(C) + 1/2: the same integer solutions, with a margin no solver tolerance can cross.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pulp

SOLVERS = ("highs", "cbc")


class InfeasibleBudget(ValueError):
    """A capacity below the smallest allocation (every group at its smallest option)."""


@dataclass(frozen=True)
class Allocation:
    """One pick per group (indices into the flat option arrays), what they cost, how they were found.

    status: ``optimal``, ``feasible`` (a solution without proof, e.g. at the time limit), ``heuristic``
    (greedy), ``no_solution`` or ``infeasible``; seconds: the solve's wall time.
    """

    picks: np.ndarray
    cost: float
    size: int
    status: str
    seconds: float


class MultipleChoiceKnapsack:
    """Options as flat arrays: ``group`` (group index 0..G-1 of every option), ``cost``, ``size`` (int bits)."""

    def __init__(self, group, cost, size) -> None:
        self.group = np.asarray(group, dtype=np.int64)
        self.cost = np.asarray(cost, dtype=np.float64)
        self.size = np.asarray(size, dtype=np.int64)
        if not (self.group.shape == self.cost.shape == self.size.shape) or self.group.ndim != 1:
            raise ValueError("group, cost and size must be 1-d arrays of one length")
        self.groups = int(self.group.max()) + 1 if self.group.size else 0
        if set(np.unique(self.group)) != set(range(self.groups)):
            raise ValueError("every group 0..G-1 needs at least one option")
        if not np.all(np.isfinite(self.cost)):
            raise ValueError("option costs must be finite")
        self.members = [np.flatnonzero(self.group == g) for g in range(self.groups)]

    def smallest_size(self) -> int:
        """The least total size any allocation has (each group's smallest option)."""
        return int(sum(self.size[m].min() for m in self.members))

    def check_capacity(self, capacity: float) -> None:
        smallest = self.smallest_size()
        if capacity < smallest:
            raise InfeasibleBudget(
                f"budget of {capacity:.0f} bits is below the smallest possible allocation, {smallest} bits "
                f"(every tensor at its cheapest option); raise the budget or add cheaper options")

    def _allocation(self, picks, status: str, seconds: float) -> Allocation:
        picks = np.asarray(picks, dtype=np.int64)
        return Allocation(picks, float(self.cost[picks].sum()), int(self.size[picks].sum()), status, seconds)

    def undominated(self) -> np.ndarray:
        """Indices of the options no other option of their group beats in both size and cost (one of
        equal twins kept): the only ones an optimum needs."""
        keep = []
        for members in self.members:
            keep += self._frontier(members)
        return np.sort(np.array(keep, dtype=np.int64))

    def multiplier(self, capacity: int) -> tuple[float, float]:
        """The Lagrangian dual's best multiplier lam >= 0 and its value, the LP relaxation's optimum:
        max over lam of sum_g min_{i in g} (cost_i + lam size_i) - lam capacity (concave, piecewise
        linear, with breakpoints at the negated slopes of the groups' convex hulls)."""
        slopes = [0.0]
        for members in self.members:
            hull = self._hull(members)
            slopes += [-(self.cost[b] - self.cost[a]) / (self.size[b] - self.size[a]) for a, b in zip(hull, hull[1:])]
        candidates = np.unique(np.array(slopes))
        best = (-np.inf, 0.0)
        for chunk in np.array_split(candidates, max(1, candidates.size // 256)):
            value = self.cost[:, None] + self.size[:, None] * chunk[None, :]
            group_min = np.full((self.groups, chunk.size), np.inf)
            np.minimum.at(group_min, self.group, value)
            dual = group_min.sum(axis=0) - chunk * capacity
            i = int(np.argmax(dual))
            best = max(best, (float(dual[i]), float(chunk[i])))
        return best[1], best[0]

    def reduced_options(self, capacity: int, upper: float) -> np.ndarray:
        """Indices of the options that can be in an allocation costing at most ``upper`` (reduced-cost
        fixing): forcing option i into group g costs at least the dual value plus i's reduced cost
        (cost_i + lam size_i minus g's least such value), so options whose bound exceeds ``upper``
        cannot be in an optimum; kept with a 1e-7 relative margin for rounding."""
        lam, bound = self.multiplier(capacity)
        value = self.cost + lam * self.size
        group_min = np.full(self.groups, np.inf)
        np.minimum.at(group_min, self.group, value)
        keep = bound + (value - group_min[self.group]) <= upper + 1e-7 * abs(upper)
        return np.intersect1d(np.flatnonzero(keep), self.undominated())

    def milp(self, capacity: float, solver: str = "highs", time_limit_s: float = 60.0) -> Allocation:
        """The exact optimum by mixed-integer programming (zero optimality gap), or the best solution
        the solver found within ``time_limit_s`` (status ``feasible``). Raises InfeasibleBudget.

        The greedy allocation is the incumbent: it bounds which options can matter (``reduced_options``),
        scales the objective (so the solver's absolute tolerances act as relative ones) and, as a MIP
        start would, stands if the solver returns something worse within its tolerances.
        """
        self.check_capacity(capacity)
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
        start = time.perf_counter()
        bits = int(np.floor(capacity))
        incumbent = self.greedy(bits)
        options = np.union1d(self.reduced_options(bits, incumbent.cost), incumbent.picks)
        scale = 1.0 / incumbent.cost if incumbent.cost > 0 else 1.0
        problem = pulp.LpProblem("allocation", pulp.LpMinimize)
        x = [pulp.LpVariable(f"x{i}", cat=pulp.LpBinary) for i in options]
        problem += pulp.lpSum(float(self.cost[i] * scale) * v for i, v in zip(options, x))
        group = self.group[options]
        for g in range(self.groups):
            problem += pulp.lpSum(x[j] for j in np.flatnonzero(group == g)) == 1, f"one_{g}"
        problem += pulp.lpSum(int(self.size[i]) * v for i, v in zip(options, x)) <= bits + 0.5, "budget"
        settings = dict(msg=False, timeLimit=time_limit_s, gapRel=0.0, gapAbs=0.0, threads=1)
        problem.solve(pulp.HiGHS(**settings) if solver == "highs" else pulp.PULP_CBC_CMD(**settings))
        found = {pulp.LpSolutionOptimal: "optimal", pulp.LpSolutionIntegerFeasible: "feasible",
                 pulp.LpSolutionInfeasible: "infeasible"}.get(problem.sol_status, "no_solution")
        if found in ("infeasible", "no_solution"):
            return Allocation(np.full(self.groups, -1), np.nan, -1, found, time.perf_counter() - start)
        values = np.zeros(self.cost.size)
        values[options] = [v.varValue or 0.0 for v in x]
        picks = np.array([members[np.argmax(values[members])] for members in self.members])
        if self.cost[incumbent.picks].sum() < self.cost[picks].sum():
            picks = incumbent.picks
        return self._allocation(picks, found, time.perf_counter() - start)

    def greedy(self, capacity: float) -> Allocation:
        """The Lagrangian greedy (status ``heuristic``); never better than ``milp``. Raises InfeasibleBudget."""
        self.check_capacity(capacity)
        start = time.perf_counter()
        hulls = [self._hull(members) for members in self.members]
        position = [0] * self.groups
        picks = [hull[0] for hull in hulls]
        left = int(np.floor(capacity)) - int(self.size[picks].sum())
        upgrades = [((self.cost[h[j + 1]] - self.cost[h[j]]) / (self.size[h[j + 1]] - self.size[h[j]]), g, j)
                    for g, h in enumerate(hulls) for j in range(len(h) - 1)]
        blocked = set()
        for _, g, j in sorted(upgrades):
            if g in blocked or position[g] != j:
                continue
            extra = int(self.size[hulls[g][j + 1]] - self.size[hulls[g][j]])
            if extra > left:
                blocked.add(g)
                continue
            position[g], picks[g], left = j + 1, hulls[g][j + 1], left - extra
        for _ in range(self.cost.size):  # best single switches with what is left (each lowers the cost)
            current = np.array(picks)
            gain = self.cost[current][self.group] - self.cost
            fits = self.size - self.size[current][self.group] <= left
            gain[~fits] = 0.0
            best = int(np.argmax(gain))
            if gain[best] <= 0.0:
                break
            g = int(self.group[best])
            left -= int(self.size[best] - self.size[picks[g]])
            picks[g] = best
        return self._allocation(picks, "heuristic", time.perf_counter() - start)

    def _frontier(self, members: np.ndarray) -> list[int]:
        """The group's undominated options, size ascending and cost strictly descending."""
        order = members[np.lexsort((members, self.cost[members], self.size[members]))]
        frontier: list[int] = []
        for i in order:
            if not frontier or self.cost[i] < self.cost[frontier[-1]]:
                frontier.append(int(i))
        return frontier

    def _hull(self, members: np.ndarray) -> list[int]:
        """The group's lower convex hull in (size, cost), from its smallest option to its least-cost one."""
        hull: list[int] = []
        for i in self._frontier(members):
            while len(hull) >= 2:
                a, b = hull[-2], hull[-1]
                # drop b when it lies on or above the segment a -> i
                if ((self.cost[b] - self.cost[a]) * (self.size[i] - self.size[a])
                        >= (self.cost[i] - self.cost[a]) * (self.size[b] - self.size[a])):
                    hull.pop()
                else:
                    break
            hull.append(i)
        return hull
