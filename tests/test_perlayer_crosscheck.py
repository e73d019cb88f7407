"""pvq.perlayer.crosscheck: SCIP's bracket against the branch and bound's, on rows the real solvers
wrote (brute force decides the truth) and on brackets built to conflict."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from pvq import bounds
from pvq.bounds import snr_db_of
from pvq.perlayer.crosscheck import RTOL, scip_crosscheck


def brute_prune(X, w0, keep):
    y = X @ w0
    return min(np.sum((X[:, list(s)] @ np.linalg.lstsq(X[:, list(s)], y, rcond=None)[0] - y) ** 2)
               for s in itertools.combinations(range(w0.size), keep))


def row(signal, ours, scip, ours_status="optimal", scip_status="optimal", channel=0, bits=4):
    """A per-channel row from two (lower bound, error) pairs."""
    return {"model": "m", "layer": "L", "chunk": 0, "out_channel": channel, "bits": bits, "signal_energy": signal,
            "prune_status": ours_status, "prune_bound_snr_db": snr_db_of(signal, ours[0]),
            "prune_opt_snr_db": snr_db_of(signal, ours[1]), "prune_mip_status": scip_status,
            "prune_mip_bound_snr_db": snr_db_of(signal, scip[0]), "prune_mip_snr_db": snr_db_of(signal, scip[1])}


def solved_row(X, w0, keep, channel, mip_limit=30.0):
    signal = float(np.sum((X @ w0) ** 2))
    ours = bounds.solve_prune_exact(X, w0, keep)
    scip = bounds.solve_prune_mip(X, w0, keep, time_limit=mip_limit)
    return row(signal, (ours.lower_bound, ours.error), (scip.lower_bound, scip.error), ours.status, scip.status,
               channel=channel), ours.error


def test_scip_agrees_on_real_problems_and_a_singular_x_counts_as_failed():
    rng = np.random.default_rng(3)
    rows = []
    for channel in range(4):
        X, w0 = rng.standard_normal((30, 8)) @ np.diag(rng.uniform(0.1, 3, 8)), rng.standard_normal(8)
        r, error = solved_row(X, w0, 3, channel)
        assert error == pytest.approx(brute_prune(X, w0, 3), rel=1e-9)
        rows.append(r)
    X = rng.standard_normal((30, 8))
    X[:, 5] = X[:, 2]  # duplicated column: SCIP's big-M model is not posed, the branch and bound still solves
    rows.append(solved_row(X, rng.standard_normal(8), 3, channel=4)[0])
    rows.append(row(1.0, (0.1, 0.1), (np.nan, np.nan), scip_status="not_run", channel=5))
    check = scip_crosscheck(pd.DataFrame(rows))
    assert (check.finished, check.agree, check.stopped, check.failed) == (4, 4, 0, 1)
    assert check.conflicts.empty
    assert check.words() == "agrees with the branch and bound on 4 of the 4 problems it finished; failed on 1"


def test_a_stopped_scip_still_brackets_the_certified_optimum():
    """A 24-feature problem SCIP cannot finish in 0.01 CPU-s: its bracket must hold the optimum."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 24)) @ (np.eye(24) + 0.3 * rng.standard_normal((24, 24)))
    w0 = rng.standard_normal(24)
    r, _ = solved_row(X, w0, 8, channel=0, mip_limit=0.01)
    assert r["prune_mip_status"] == "time_limit" and r["prune_status"] == "optimal"
    check = scip_crosscheck(pd.DataFrame([r]))
    assert (check.finished, check.stopped, check.inside) == (0, 1, 1) and check.conflicts.empty
    assert 0 < check.stopped_gap <= 1
    assert "stopped at its limit on 1" in check.words() and "holding ours on 1 of them" in check.words()


def test_brackets_that_do_not_overlap_are_named():
    optimum = 2.0
    rows = pd.DataFrame([
        row(10.0, (optimum, optimum), (optimum, optimum * (1 + RTOL / 2)), channel=0),   # within tolerance
        row(10.0, (optimum, optimum), (optimum, optimum * (1 + 5 * RTOL)), channel=1),   # both finished, differ
        row(10.0, (optimum, optimum), (0.5, 1.5), scip_status="time_limit", channel=2),  # SCIP found better
        row(10.0, (optimum, optimum), (2.5, 3.0), scip_status="time_limit", channel=3, bits=2),  # bound above ours
        row(10.0, (optimum, optimum), (1.0, 3.0), scip_status="time_limit", channel=4),  # holds ours
        row(10.0, (1.0, 2.5), (2.2, 2.4), ours_status="time_limit", channel=5),          # our bracket overlaps
        row(10.0, (0.0, 0.0), (0.0, 0.0), channel=6),                                    # exact fit: inf SNR
    ])
    check = scip_crosscheck(rows)
    assert list(check.conflicts["out_channel"]) == [1, 2, 3]
    assert (check.finished, check.agree, check.stopped, check.inside) == (4, 3, 3, 1)
    assert check.stopped_gap == pytest.approx(np.median([1 / 1.5, 0.5 / 3, 2 / 3]))
    words = check.words()
    assert "DISAGREES on 3: L chunk 0 channel 1 4-bit; L chunk 0 channel 2 4-bit; L chunk 0 channel 3 2-bit" in words


@pytest.mark.parametrize("rows", [pd.DataFrame(columns=["prune_mip_status"]),
                                  pd.DataFrame({"prune_mip_status": ["not_run", "not_run"]})])
def test_no_scip_rows_say_not_run(rows):
    check = scip_crosscheck(rows)
    assert check.words() == "not run" and check.conflicts.empty and np.isnan(check.stopped_gap)


def test_a_damaged_row_is_named_not_passed():
    """A row SCIP ran on without an SNR (a damaged or hand-edited CSV) cannot be checked: it is named."""
    rows = pd.DataFrame([row(10.0, (2.0, 2.0), (np.nan, np.nan), channel=3)])
    check = scip_crosscheck(rows)
    assert list(check.conflicts["out_channel"]) == [3] and check.agree == 0
    assert "DISAGREES on 1" in check.words()
