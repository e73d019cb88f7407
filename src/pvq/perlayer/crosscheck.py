"""SCIP's cross-check of the pruning branch and bound, read from the per-channel rows (no solvers).

Each solver brackets the same optimum between a certified lower bound and the error of a support it
found, so two correct solvers' brackets overlap. Where both finish they must agree; where SCIP stops at
its limit (at n = 64 it does), the branch and bound's optimum must still lie inside SCIP's bracket, a
weaker but two-sided check. A pair of brackets that do not overlap means one solver is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pvq.bounds.prune import MIP_RTOL
from pvq.perlayer.summary import error_from_snr

# Relative slack on the errors: solve_prune_mip accepts SCIP's answer as 'optimal' up to MIP_RTOL of the
# objective scale between its dual bound and the refit error (SCIP's feasibility tolerance); twice that.
RTOL = 2 * MIP_RTOL


@dataclass(frozen=True)
class CrossCheck:
    """Counts over the rows SCIP ran on, and the rows whose brackets do not overlap."""
    finished: int        # SCIP proved its optimum
    agree: int           # ... and it equals the branch and bound's (within RTOL; a stopped B&B: brackets overlap)
    stopped: int         # SCIP hit its limit
    inside: int          # ... and the two brackets overlap (a certified optimum: inside SCIP's bracket)
    stopped_gap: float   # median of SCIP's (incumbent - bound) / incumbent where it stopped (nan: none)
    failed: int          # SCIP gave no usable answer (pvq.bounds.solve_prune_mip's 'failed')
    conflicts: pd.DataFrame  # rows where the two brackets are disjoint, or both finished and differ

    def words(self) -> str:
        if not self.finished + self.stopped + self.failed:
            return "not run"
        parts = [f"agrees with the branch and bound on {self.agree} of the {self.finished} problems it finished"]
        if self.stopped:
            parts.append(f"stopped at its limit on {self.stopped} (median gap {100 * self.stopped_gap:.3g} %), "
                         f"its bracket [dual bound, incumbent] holding ours on {self.inside} of them")
        if self.failed:
            parts.append(f"failed on {self.failed}")
        if len(self.conflicts):
            where = "; ".join(f"{r.layer} chunk {r.chunk} channel {r.out_channel} {r.bits}-bit"
                              for r in self.conflicts.itertuples())
            parts.append(f"DISAGREES on {len(self.conflicts)}: {where}")
        return "; ".join(parts)


def scip_crosscheck(rows: pd.DataFrame) -> CrossCheck:
    """Compare SCIP's bracket with the branch and bound's on every row where SCIP ran."""
    ran = rows[rows["prune_mip_status"] != "not_run"]
    if ran.empty:
        return CrossCheck(0, 0, 0, 0, float("nan"), 0, pd.DataFrame())
    usable = ran[ran["prune_mip_status"] != "failed"]
    ours_low, ours_high = error_from_snr(usable, "prune_bound_snr_db"), error_from_snr(usable, "prune_opt_snr_db")
    scip_low, scip_high = error_from_snr(usable, "prune_mip_bound_snr_db"), error_from_snr(usable, "prune_mip_snr_db")
    slack = RTOL * np.maximum(ours_high, scip_high)
    overlap = np.maximum(ours_low, scip_low) <= np.minimum(ours_high, scip_high) + slack
    finished = (usable["prune_mip_status"] == "optimal").to_numpy()
    both = finished & (usable["prune_status"] == "optimal").to_numpy()
    equal = np.abs(ours_high - scip_high) <= slack
    conflict = ~overlap | (both & ~equal)
    stopped = ~finished
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.where(scip_high > 0, (scip_high - scip_low) / scip_high, 0.0)
    return CrossCheck(
        finished=int(finished.sum()), agree=int((finished & ~conflict).sum()),
        stopped=int(stopped.sum()), inside=int((stopped & overlap).sum()),
        stopped_gap=float(np.median(gap[stopped])) if stopped.any() else float("nan"),
        failed=len(ran) - len(usable),
        conflicts=usable.loc[conflict, ["model", "layer", "chunk", "out_channel", "bits"]])
