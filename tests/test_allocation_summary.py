"""Fig. 11's summary (pvq.allocation.summary): the share of weights in pruned tensors counted by hand,
the kurtosis boundary at the budget's bit width, and the figure drawing exactly those numbers (what
it computed itself before the summary existed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from pvq.allocation.artifacts import CHOICES, CHOICES_SUMMARY  # noqa: E402
from pvq.allocation.summary import choices_summary  # noqa: E402
from pvq.zoo.regions import kurtosis_boundary  # noqa: E402


def toy_zoo():
    """Bit widths 2 and 4: pruning (mask counted) wins above kurtosis 20 at 2 bits, never at 4."""
    kurtosis = np.geomspace(1.5, 300, 40)
    rows = []
    for bits in (2, 4):
        for i, k in enumerate(kurtosis):
            prune_wins = bits == 2 and k > 20
            rows.append({"bits": bits, "kurtosis": k, "quant_snr_db": 10.0,
                         "prune_snr_db_masked": 12.0 if prune_wins else 8.0, "prune_snr_db": 12.0})
    return pd.DataFrame(rows)


def toy_choices():
    rows = []
    for model, offset in (("a", 0), ("b", 1000)):
        for budget, picks in ((2.0, ["prune", "quant", "prune_quant"]), (2.5, ["quant", "quant", "fp16"]),
                              (4.0, ["quant", "prune", "quant"])):
            for t, (choice, numel) in enumerate(zip(picks, (100, 300 + offset, 600))):
                rows.append({"model": model, "tensor": f"t{t}", "kurtosis": 3.0 * (t + 1), "budget_bits": budget,
                             "choice": choice, "bits": 4, "sparsity": 0.5 if "prune" in choice else 0.0,
                             "numel": numel, "storage_bits": 4 * numel, "nsr": 0.01})
    return pd.DataFrame(rows)


def test_shares_counted_by_hand_and_the_boundary_at_the_budgets_bit_width():
    zoo, choices = toy_zoo(), toy_choices()
    summary = choices_summary(choices, zoo)
    assert CHOICES_SUMMARY.problems(summary) == [] and CHOICES.problems(choices) == []
    summary = summary.set_index("budget_bits")
    total = 2 * (100 + 600) + 300 + 1300
    assert summary["weights"].tolist() == [total] * 3
    # 2 bits: t0 pruned, t2 pruned then quantized, in both models; 2.5: none; 4: t1 of both models
    assert summary.loc[2.0, "pruned_weights"] == 2 * (100 + 600)
    assert summary.loc[2.5, "pruned_weights"] == 0
    assert summary.loc[4.0, "pruned_weights"] == 300 + 1300
    assert summary.loc[2.0, "pruned_share"] == pytest.approx(1400 / total, rel=1e-15)
    assert summary["boundary_bits"].tolist() == [2, 2, 4]
    boundary = kurtosis_boundary(zoo, masked=True)
    assert 10 < boundary[2] < 40 and np.isnan(boundary[4])  # crossing near 20; never at 4 bits
    assert summary.loc[2.0, "kurtosis_boundary"] == summary.loc[2.5, "kurtosis_boundary"] == boundary[2]
    assert np.isnan(summary.loc[4.0, "kurtosis_boundary"])
    empty = choices_summary(choices.iloc[:0], zoo)
    assert empty.empty and CHOICES_SUMMARY.problems(empty) == []


def test_fig11_draws_the_summary_as_it_computed_it_before():
    from pvq.plots.fig11_allocation_choices import draw, shown_budgets

    zoo, choices = toy_zoo(), toy_choices()
    fig = draw(choices, choices_summary(choices, zoo))
    budgets = shown_budgets(choices["budget_bits"])
    assert len(fig.axes) == len(budgets)
    boundary = kurtosis_boundary(zoo, masked=True)
    for ax, budget in zip(fig.axes, budgets):
        rows = choices[choices["budget_bits"] == budget]
        # what the plotting module computed itself before: the numel-weighted share of pruned tensors
        share = np.average(rows["choice"].isin(["prune", "prune_quant"]), weights=rows["numel"])
        assert ax.get_title() == f"{budget:g} bits/weight: {100 * share:.0f}% of weights\nin tensors that are pruned"
        lines = [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"]
        threshold = boundary.get(int(np.floor(budget)), np.nan)
        assert lines == ([threshold] if np.isfinite(threshold) else [])


def formats_choices():
    rows = []
    for budget, picks in ((3.0, ["mxfp4", "prune/2:4+int4/per-channel/mse", "mxfp4"]), (4.5, ["nvfp4"] * 3)):
        for t, (spec, numel) in enumerate(zip(picks, (100, 300, 600))):
            family = "joint" if "+" in spec else "quant"
            bits = {"mxfp4": 4.25, "nvfp4": 4.5, "prune/2:4+int4/per-channel/mse": 3.0}[spec]
            rows.append({"model": "m", "tensor": f"t{t}", "kurtosis": 3.0, "budget_bits": budget, "spec": spec,
                         "family": family, "numel": numel, "storage_bits": int(bits * numel),
                         "bits_per_weight": bits, "nsr": 0.01})
    return pd.DataFrame(rows)


def test_formats_shares_counted_by_hand():
    from pvq.allocation.artifacts import FORMATS_CHOICES, FORMATS_SHARES
    from pvq.allocation.summary import formats_shares

    choices = formats_choices()
    assert FORMATS_CHOICES.problems(choices) == []
    shares = formats_shares(choices)
    assert FORMATS_SHARES.problems(shares) == []
    low = shares[shares["budget_bits"] == 3.0].set_index("spec")
    assert list(low.index) == ["mxfp4", "prune/2:4+int4/per-channel/mse"]  # by weights, descending
    assert low.loc["mxfp4", "tensors"] == 2 and low.loc["mxfp4", "weights"] == 700
    assert low.loc["mxfp4", "weight_share"] == pytest.approx(0.7)
    storage = 4.25 * 700 + 3.0 * 300
    assert low.loc["mxfp4", "storage_share"] == pytest.approx(4.25 * 700 / storage)
    assert low.loc["prune/2:4+int4/per-channel/mse", "family"] == "joint"
    high = shares[shares["budget_bits"] == 4.5]
    assert high[["spec", "tensors", "weights", "weight_share", "storage_share"]].values.tolist() == [
        ["nvfp4", 3, 1000, 1.0, 1.0]]


def test_fig15_draws_what_the_files_hold():
    from pvq.allocation.summary import formats_shares
    from pvq.plots.fig15_allocation_formats import STYLES, draw

    strategies = [*STYLES]
    formats = pd.DataFrame([{"model": "m", "budget_bits": b, "strategy": s, "average_bits": b - 0.1 * i,
                             "snr_db": 10 * b - i} for b in (3.0, 4.5) for i, s in enumerate(strategies)])
    paper = pd.DataFrame([{"model": "m", "budget_bits": b, "strategy": s, "average_bits": b, "snr_db": 9 * b}
                          for b in (3.0, 4.5) for s in ("milp", "greedy")])
    shares = formats_shares(formats_choices())
    fig = draw(paper, formats, shares)
    top, bottom = fig.axes[0], fig.axes[1]
    lines = {line.get_label(): line for line in top.get_lines()}
    for i, (strategy, (label, *_)) in enumerate(STYLES.items()):
        assert list(lines[label].get_xdata()) == [3.0 - 0.1 * i, 4.5 - 0.1 * i]
        assert list(lines[label].get_ydata()) == [30.0 - i, 45.0 - i]
    assert list(lines["paper's options: optimal (MILP)"].get_ydata()) == [27.0, 40.5]
    # stacked bars: quantization 70 % and joint 30 % at 3 bits, quantization 100 % at 4.5
    heights = {(round(p.get_x() + p.get_width() / 2, 6), p.get_facecolor()): p.get_height()
               for p in bottom.patches if p.get_height() > 0}
    assert sorted(round(h, 9) for h in heights.values()) == [30.0, 70.0, 100.0]
