"""Published-vs-reproduced comparisons, quantization cards and the table writers."""

from __future__ import annotations

import pandas as pd
import pytest

from pvq.config import validate
from pvq.report.cards import quantization_card
from pvq.report.comparisons import (compare_fig1, compare_fig2, compare_fig3, compare_table2,
                                    crossover_kurtosis)
from pvq.report.paper import paper_table, published_zoo
from pvq.tables import to_latex, to_markdown


def test_published_zoo_reproduces_table2_from_the_authors_release():
    """NOTES: the unweighted mean over 2,704 tensors of 45 models gives 59.3 ... 12.6 %."""
    zoo = published_zoo()
    assert zoo["model"].nunique() == 45
    assert (zoo.groupby("bits").size() == 2704).all()
    mean = (100 * zoo.groupby("bits")["quant_sparsity"].mean()).round(1)
    assert mean.to_dict() == {2: 59.3, 3: 46.2, 4: 35.2, 5: 26.6, 6: 20.2, 7: 15.7, 8: 12.6}
    table2 = paper_table("table2_natural_sparsity").set_index("bits")["natural_sparsity_pct"]
    assert ((mean - table2).abs() <= 0.5).all()


def test_paper_table1_is_complete():
    table1 = paper_table("table1_finetune")
    assert len(table1) == 8 * 7
    row = table1[(table1["model"] == "MobileNet-V2") & (table1["bits"] == 4)].iloc[0]
    assert (row["quant"], row["prune"], row["fp"]) == (70.9, 48.0, 71.7)


def normal_rows(quant, prune):
    return pd.DataFrame({"bits": [2, 4], "sparsity": [0.875, 0.75], "quant_snr_db": quant,
                         "prune_snr_db": prune})


def test_fig1_comparison_reports_differences_and_the_claim():
    table = compare_fig1(normal_rows([8.0, 19.3], [3.0, 5.5]))
    numbers = table[table["kind"] == "number"].set_index("item")
    assert numbers.loc["INT4 SNR (dB)", "difference"] == pytest.approx(0.2)
    assert numbers.loc["75% pruning SNR (dB)", "difference"] == pytest.approx(-0.1)
    assert table[table["kind"] == "claim"]["holds"].tolist() == ["yes"]
    flipped = compare_fig1(normal_rows([2.0, 19.3], [3.0, 5.5]))
    assert flipped[flipped["kind"] == "claim"]["holds"].tolist() == ["no"]


def t_rows(bits, kurt, quant, prune):
    frame = pd.DataFrame({"bits": bits, "kurtosis": kurt, "quant_snr_db": quant, "prune_snr_db": prune})
    frame["winner"] = ["quant" if q >= p else "prune" for q, p in zip(quant, prune)]
    return frame


def test_crossover_is_the_start_of_the_last_pruning_run():
    table = t_rows([2] * 4 + [4] * 4, [3, 10, 30, 100] * 2,
                   [9, 7, 5, 6, 20, 18, 16, 14], [3, 8, 4, 7, 5, 6, 7, 8])
    crossing = crossover_kurtosis(table).set_index("bits")["prune_wins_from_kurtosis"]
    assert crossing[2] == 100 and pd.isna(crossing[4])


def test_fig2_claims_follow_the_numbers():
    table = t_rows([2, 2, 4, 4], [3, 100, 3, 100], [9, 3, 20, 12], [3, 3.5, 5, 5.5])
    verdict = compare_fig2(table).set_index("item")["holds"]
    assert verdict["quantization SNR falls as the outliers grow"] == "yes"
    assert verdict["pruning SNR does not change under more severe outliers (within 1 dB)"] == "yes"
    assert verdict["pruning wins at very high compression (2-3 bits) once the tails are heavy"] == "yes"
    no_tails = t_rows([2, 2], [3, 100], [9, 8], [3, 5])
    assert compare_fig2(no_tails).set_index("item")["holds"][
        "pruning wins at very high compression (2-3 bits) once the tails are heavy"] == "no"


def test_card_states_the_configured_choices():
    config = validate({"run_name": "x", "baseline_bits": 8, "analytic": {"bits": [3, 5]}})
    card = quantization_card("analytic", config)
    assert "FP8" in card and "1 - b/8" in card and "3, 5" in card and "per tensor" in card
    with pytest.raises(KeyError, match="no quantization card"):
        quantization_card("nonsense", config)


def test_tables_render_missing_values_empty_and_escape_latex():
    frame = pd.DataFrame({"item": ["75% pruning_snr"], "value": [float("nan")], "x": [1.234]})
    markdown = to_markdown(frame)
    assert "nan" not in markdown and "1.2" in markdown
    latex = to_latex(frame, "cap", "tab:x")
    assert r"75\% pruning\_snr" in latex and "nan" not in latex and r"\toprule" in latex


def zoo_rows(bits, natural, quant, prune, kurt):
    return pd.DataFrame({"model": "m", "bits": bits, "natural_sparsity": natural,
                         "quant_snr_db": quant, "prune_snr_db": prune, "kurtosis": kurt})


def test_table2_comparison_reads_means_and_checks_the_trend():
    zoo = zoo_rows([2, 2, 8, 8], [0.5, 0.7, 0.1, 0.2], [1, 1, 1, 1], [0, 0, 0, 0], [3, 3, 3, 3])
    table = compare_table2(zoo).set_index("item")
    assert table.loc["2-bit natural sparsity (%), reproduced on m", "reproduced"] == pytest.approx(60.0)
    assert table.loc["8-bit natural sparsity (%), reproduced on m", "difference"] == pytest.approx(15 - 13)
    assert table.loc["natural sparsity grows as the bit width falls", "holds"] == "yes"
    reversed_trend = zoo_rows([2, 8], [0.1, 0.5], [1, 1], [0, 0], [3, 3])
    assert compare_table2(reversed_trend).set_index("item").loc[
        "natural sparsity grows as the bit width falls", "holds"] == "no"


def test_fig3_comparison_shares_and_kurtosis_auc():
    # At 2 bits pruning wins exactly on the two high-kurtosis tensors; at 4 bits never.
    zoo = zoo_rows([2] * 4 + [4] * 4, 0.1, [5, 5, 5, 5, 9, 9, 9, 9], [4, 4, 6, 6, 1, 1, 1, 1],
                   [3, 4, 20, 30] * 2)
    table = compare_fig3(zoo).set_index("item")
    share = table.loc["2-bit share of tensors where pruning wins (%), ours vs authors' data"]
    assert share["reproduced"] == pytest.approx(50.0)
    assert table.loc["pruning becomes more beneficial at lower bit widths (higher sparsity)", "holds"] == "yes"
    auc = table.loc["kurtosis predicts where pruning wins (ROC AUC of kurtosis above 0.5 at every bit width)"]
    assert auc["holds"] == "yes" and "2 bits 1.00" in auc["evidence"]
