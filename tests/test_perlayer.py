"""Per-layer stage: real EfficientNet-Lite0, unfolded inputs, chunk brackets, and the smoke run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import torchvision

from pvq.models.efficientnet_lite import efficientnet_lite
from pvq.models.images import bundled_photos, evaluation_tensor, random_crops
from pvq.perlayer.activations import capture_inputs, group_columns, unfold
from pvq.perlayer.collect import Selection, layer_chunks
from pvq.perlayer.crosscheck import scip_crosscheck
from pvq.perlayer.solve import COLUMNS, keep_for_bits
from pvq.perlayer.summary import METHODS, chunk_boxes, gap_db, table3, table6

CATEGORIES = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"]


@pytest.fixture(scope="module")
def lite0():
    return efficientnet_lite("efficientnet_lite0")


def test_lite0_classifies_the_bundled_photos(lite0):
    photos = bundled_photos()
    batch = torch.stack([evaluation_tensor(photo) for photo in photos.values()])
    with torch.no_grad():
        top5 = lite0(batch).topk(5).indices
    names = {name: [CATEGORIES[i] for i in row] for name, row in zip(photos, top5)}
    assert names["china"][0] == "palace"
    assert names["flower"][0] == "daisy"
    assert {"academic gown", "mortarboard", "military uniform"} <= set(names["grace_hopper"])


@pytest.mark.parametrize("layer", ["_conv_stem", "_blocks.1._depthwise_conv", "_blocks.2._expand_conv", "_fc"])
def test_unfolded_inputs_reproduce_the_layer_output(lite0, layer):
    """X @ W^T (per group) equals what PyTorch's own module computes, padding and stride included."""
    module = dict(lite0.named_modules())[layer]
    images = random_crops(list(bundled_photos().values()), 2, 224, seed=0)
    seen = {}
    hook = module.register_forward_hook(lambda mod, args, out: seen.update(x=args[0], y=out))
    with torch.no_grad():
        lite0(images)
    hook.remove()
    X = unfold(module, seen["x"]).double()
    W = module.weight.detach().double().reshape(module.weight.shape[0], -1)
    y = seen["y"].double()
    y = (y.reshape(-1, y.shape[-1]) if y.ndim == 2 else y.permute(0, 2, 3, 1).reshape(-1, y.shape[1]))
    if module.bias is not None:
        y = y - module.bias.double()
    for channel in (0, W.shape[0] // 2, W.shape[0] - 1):
        cols = group_columns(module, channel) if isinstance(module, torch.nn.Conv2d) else slice(None)
        torch.testing.assert_close(X[:, cols] @ W[channel], y[:, channel], rtol=1e-4, atol=1e-4)


def test_chunks_keep_the_gram_and_the_weights(lite0):
    module = dict(lite0.named_modules())["_blocks.2._expand_conv"]
    images = random_crops(list(bundled_photos().values()), 2, 224, seed=1)
    x = capture_inputs(lite0, {"l": module}, images)["l"]
    chunks = layer_chunks(module, x, Selection(chunk_features=10, chunks=2, out_channels=3, seed=0))
    X = unfold(module, x).double().numpy()
    W = module.weight.detach().double().reshape(144, -1).numpy()
    assert len(chunks) == 2 and all(len(c["channels"]) == 3 for c in chunks)
    for chunk in chunks:
        cols = slice(chunk["chunk"] * 10, min(chunk["chunk"] * 10 + 10, 24))
        np.testing.assert_allclose(chunk["R"].T @ chunk["R"], X[:, cols].T @ X[:, cols], rtol=1e-9, atol=1e-6)
        np.testing.assert_array_equal(chunk["w0"], W[chunk["channels"], cols])


def test_unknown_layer_and_bad_config_are_clear_errors(lite0):
    from pvq.config import ConfigError, validate
    from pvq.perlayer.models import weight_layer

    with pytest.raises(KeyError, match="'_blocks.99._expand_conv' is not a conv or linear layer"):
        weight_layer(lite0, "_blocks.99._expand_conv")
    with pytest.raises(ConfigError, match=r"'perlayer.mip_bits': \[3\] not in perlayer.bits"):
        validate({"perlayer": {"bits": [2, 4], "mip_bits": [3]}})
    with pytest.raises(ConfigError, match="'perlayer.chunk_features'"):
        validate({"perlayer": {"chunk_features": 100}})


def test_keep_matches_the_storage_of_b_bits():
    assert [keep_for_bits(32, b) for b in (2, 4, 8)] == [4, 8, 16]  # 87.5 %, 75 %, 50 % sparse
    assert keep_for_bits(36, 3) == 7


def _row(chunk, channel, signal, quant, prune, **extra):
    q_heur, q_best = quant
    p_heur, p_best = prune
    row = dict(model="m", layer="l", chunk=chunk, out_channel=channel, n=4, m=100, bits=4, sparsity=0.75,
               keep=1, delta=0.1, signal_energy=signal, quant_rtn_snr_db=0.0,
               quant_heuristic_snr_db=10 * np.log10(signal / q_heur), quant_sdp_bound_snr_db=10 * np.log10(signal / q_best),
               quant_sdp_status="bound", quant_exact_snr_db=10 * np.log10(signal / q_heur), quant_status="time_limit",
               quant_exact_bound_snr_db=np.inf,
               prune_magnitude_snr_db=0.0, prune_refit_snr_db=10 * np.log10(signal / p_heur),
               prune_opt_snr_db=10 * np.log10(signal / p_best), prune_bound_snr_db=10 * np.log10(signal / p_best),
               prune_status="optimal", prune_mip_snr_db=np.nan, prune_mip_bound_snr_db=np.nan,
               prune_mip_status="not_run", quant_gptq_snr_db=0.0, prune_obs_snr_db=0.0, prune_wanda_snr_db=0.0,
               prune_wanda_refit_snr_db=0.0, joint_obs_gptq_snr_db=0.0, joint_bound_snr_db=1.0)
    row.update(extra)
    return row


def test_chunk_brackets_sum_errors_over_channels():
    """Chunk SNR = 10 log10(sum signal / sum error); a box above the diagonal is a quantization win."""
    rows = pd.DataFrame([_row(0, 0, 100.0, (1.0, 0.5), (20.0, 10.0)), _row(0, 1, 300.0, (3.0, 1.5), (40.0, 30.0)),
                         _row(1, 0, 100.0, (10.0, 5.0), (8.0, 6.0))])
    boxes = chunk_boxes(rows).set_index("chunk")
    assert boxes.loc[0, "quant_low_db"] == pytest.approx(10 * np.log10(400 / 4.0))
    assert boxes.loc[0, "quant_high_db"] == pytest.approx(10 * np.log10(400 / 2.0))
    assert boxes.loc[0, "prune_low_db"] == pytest.approx(10 * np.log10(400 / 60.0))
    assert boxes.loc[0, "prune_high_db"] == pytest.approx(10 * np.log10(400 / 40.0))
    assert boxes.loc[0, "winner"] == "quant" and boxes.loc[1, "winner"] == "undecided"
    summary = table3(rows)
    assert summary.loc[0, "quant_wins_pct"] == 50 and summary.loc[0, "undecided_pct"] == 50


def test_one_shot_marks_are_chunk_snrs():
    """A mark sums errors over the chunk's channels like the box: 10 log10(sum signal / sum error)."""
    snr = lambda signal, err: 10 * np.log10(signal / err)  # noqa: E731
    rows = pd.DataFrame([_row(0, 0, 100.0, (1.0, 0.5), (20.0, 10.0), quant_gptq_snr_db=snr(100, 0.8),
                              prune_obs_snr_db=snr(100, 12.0), prune_wanda_snr_db=snr(100, 50.0),
                              prune_wanda_refit_snr_db=np.inf),
                         _row(0, 1, 300.0, (3.0, 1.5), (40.0, 30.0), quant_gptq_snr_db=snr(300, 2.2),
                              prune_obs_snr_db=snr(300, 33.0), prune_wanda_snr_db=snr(300, 70.0),
                              prune_wanda_refit_snr_db=snr(300, 35.0))])
    box = chunk_boxes(rows).iloc[0]
    assert box["quant_gptq_db"] == pytest.approx(snr(400, 3.0))
    assert box["prune_obs_db"] == pytest.approx(snr(400, 45.0))
    assert box["prune_wanda_db"] == pytest.approx(snr(400, 120.0))
    assert box["prune_wanda_refit_db"] == pytest.approx(snr(400, 35.0))  # an exact fit adds no error
    assert list(chunk_boxes(rows).columns[-4:]) == ["quant_gptq_db", "prune_obs_db", "prune_wanda_db",
                                                    "prune_wanda_refit_db"]


def _problem(chunk, channel, bits, signal, errors, quant_status="optimal", prune_status="optimal"):
    """A row whose method errors are given by name (METHODS, plus quant_opt, prune_opt, joint_bound)."""
    snr = {name: 10 * np.log10(signal / err) if err > 0 else np.inf for name, err in errors.items()}
    column = {name: col for name, _, col in METHODS}
    return _row(chunk, channel, signal, (1.0, 1.0), (1.0, 1.0), bits=bits, quant_status=quant_status,
                prune_status=prune_status, quant_exact_snr_db=snr["quant_opt"], prune_opt_snr_db=snr["prune_opt"],
                joint_bound_snr_db=snr["joint_bound"], **{column[m]: snr[m] for m in column})


def test_table6_by_hand():
    """Two chunks of two channels at 4 bits. Gaps are 10 log10(method error / optimum error) over the
    certified problems only; verdicts compare chunk SNRs (summed errors)."""
    base = dict(park_boyd=2.0, gptq=1.5, magnitude_refit=3.0, obs=2.5, wanda=8.0, wanda_refit=4.0, obs_gptq=6.0,
                quant_opt=1.0, prune_opt=2.0, joint_bound=3.0)
    rows = pd.DataFrame([
        _problem(0, 0, 4, 100.0, {**base, "wanda": 1.0}),  # (Wanda below the optimum: arithmetic only)
        _problem(0, 1, 4, 100.0, {**base, "gptq": 1.0, "obs": 2.0, "wanda": 1.0}),
        # chunk 1: pruning wins for the paper's heuristics (1 < 1.5), quantization with GPTQ (0.9 < 1.0)
        _problem(1, 0, 4, 100.0, {**base, "park_boyd": 1.5, "gptq": 0.9, "magnitude_refit": 1.0, "obs": 1.0,
                                  "wanda": 0.9, "quant_opt": 0.5, "prune_opt": 0.8}, quant_status="time_limit"),
        _problem(1, 1, 4, 100.0, {**base, "park_boyd": 1.5, "gptq": 0.9, "magnitude_refit": 1.0, "obs": 1.0,
                                  "wanda": 0.9, "quant_opt": 0.5, "prune_opt": 0.8}, prune_status="time_limit"),
    ])
    table = table6(rows).set_index("method")
    db = lambda ratio: 10 * np.log10(ratio)  # noqa: E731
    gptq = table.loc["gptq"]
    assert (gptq["certified"], gptq["problems"], gptq["chunks"], gptq["reference"]) == (3, 4, 2, "optimum")
    assert gptq["median_gap_db"] == pytest.approx(db(1.5))  # gaps db(1.5), db(1.0), db(0.9 / 0.5)
    assert gptq["worst_gap_db"] == pytest.approx(db(1.8))
    obs = table.loc["obs"]
    assert obs["certified"] == 3 and obs["worst_gap_db"] == pytest.approx(db(1.25))
    assert obs["median_gap_db"] == pytest.approx(db(1.25))  # gaps db(1.25), db(1.0), db(1.25)
    # verdicts: paper (Park & Boyd vs magnitude + refit): chunk 0 quant (4 < 6), chunk 1 prune (3 > 2).
    # GPTQ vs magnitude + refit: quant, quant (1.8 < 2) -> one of two changes
    assert gptq["verdict_changed_pct"] == 50
    assert table.loc["obs", "verdict_changed_pct"] == 50           # GPTQ 1.8 vs OBS 2.0
    assert table.loc["wanda", "verdict_changed_pct"] == 100  # chunk 0: GPTQ 2.5 vs 2.0 prune; chunk 1: 1.8 vs 1.8 tie
    assert table.loc["wanda_refit", "verdict_changed_pct"] == 50  # quant (2.5 < 8), quant (1.8 < 8)
    assert np.isnan(table.loc["park_boyd", "verdict_changed_pct"])
    joint = table.loc["obs_gptq"]
    assert joint["reference"] == "lower bound" and joint["certified"] == 4
    assert joint["median_gap_db"] == pytest.approx(db(2.0)) and joint["worst_gap_db"] == pytest.approx(db(2.0))
    assert list(table.reset_index()["method"]) == [m for m, _, _ in METHODS]


def test_gap_db_of_exact_fits():
    ref, method = pd.Series([np.inf, np.inf, 20.0]), pd.Series([np.inf, 15.0, 18.0])
    np.testing.assert_array_equal(gap_db(ref, method), [0.0, np.inf, 2.0])


def test_exact_quantization_collapses_the_box():
    rows = pd.DataFrame([_row(0, 0, 100.0, (2.0, 1.0), (50.0, 40.0), quant_status="optimal",
                              quant_exact_snr_db=10 * np.log10(100 / 1.5))])
    box = chunk_boxes(rows).iloc[0]
    assert box["quant_high_db"] == pytest.approx(10 * np.log10(100 / 1.5)) and box["quant_exact"]


def test_a_stopped_decoder_bound_tightens_the_box_where_it_beats_the_sdp():
    """Lower bounds on the error: the box's top end is the larger one, whichever method gave it."""
    decoder = _row(0, 0, 100.0, (2.0, 0.5), (50.0, 40.0), quant_exact_bound_snr_db=10 * np.log10(100 / 1.2))
    sdp = _row(1, 0, 100.0, (2.0, 0.5), (50.0, 40.0), quant_exact_bound_snr_db=10 * np.log10(100 / 0.1))
    boxes = chunk_boxes(pd.DataFrame([decoder, sdp])).set_index("chunk")
    assert boxes.loc[0, "quant_high_db"] == pytest.approx(10 * np.log10(100 / 1.2))
    assert boxes.loc[1, "quant_high_db"] == pytest.approx(10 * np.log10(100 / 0.5))
    assert not boxes["quant_exact"].any()


@pytest.mark.pipeline
def test_smoke_run_certifies_every_pruning_optimum(smoke_run):
    table = pd.read_csv(smoke_run / "perlayer" / "efficientnet_lite0" / "_blocks.2._expand_conv.csv")
    assert list(table.columns) == COLUMNS
    assert (table["prune_status"] == "optimal").all()
    checked = table[table["prune_mip_status"] != "not_run"]
    assert len(checked) > 0 and (checked["prune_mip_status"] == "optimal").all()
    np.testing.assert_allclose(checked["prune_mip_snr_db"], checked["prune_opt_snr_db"], atol=1e-4)
    assert scip_crosscheck(table).agree == len(checked)
    assert (table["prune_opt_snr_db"] >= table["prune_refit_snr_db"] - 1e-9).all()
    assert (table["prune_refit_snr_db"] >= table["prune_magnitude_snr_db"] - 1e-9).all()
    exact = table["quant_status"] == "optimal"
    assert (table.loc[exact, "quant_sdp_bound_snr_db"] >= table.loc[exact, "quant_exact_snr_db"] - 1e-9).all()
    assert (table["quant_exact_snr_db"] >= table["quant_heuristic_snr_db"] - 1e-9).all()
    assert (table["quant_exact_bound_snr_db"] >= table["quant_exact_snr_db"] - 1e-9).all()
    assert (table["quant_heuristic_snr_db"] >= table["quant_rtn_snr_db"] - 1e-9).all()
    # the one-shot methods never beat a certified optimum (or the joint problem's certified bound)
    assert (table.loc[exact, "quant_gptq_snr_db"] <= table.loc[exact, "quant_exact_snr_db"] + 1e-9).all()
    for column in ("prune_obs_snr_db", "prune_wanda_snr_db", "prune_wanda_refit_snr_db"):
        assert (table[column] <= table["prune_opt_snr_db"] + 1e-9).all(), column
    assert (table["prune_wanda_refit_snr_db"] >= table["prune_wanda_snr_db"] - 1e-9).all()
    assert (table["joint_obs_gptq_snr_db"] <= table["joint_bound_snr_db"] + 1e-9).all()
    assert (table["joint_bound_snr_db"] <= np.minimum(table["prune_opt_snr_db"], table["quant_exact_snr_db"])
            + 1e-9).all()
    summary = pd.read_csv(smoke_run / "tables" / "table3_perlayer.csv")
    assert set(summary["bits"]) == {2, 4, 8}
    for suffix in ("pdf", "png"):
        assert (smoke_run / "figures" / f"fig4_perlayer.{suffix}").stat().st_size > 1000
    words = f"agrees with the branch and bound on {len(checked)} of the {len(checked)} problems it finished"
    assert f"| SCIP cross-check | {words} |" in (smoke_run / "cards" / "perlayer.md").read_text()
    gaps = pd.read_csv(smoke_run / "tables" / "table6_gap_to_optimum.csv")
    assert len(gaps) == 3 * len(METHODS) and set(gaps["bits"]) == {2, 4, 8}
    assert (gaps["median_gap_db"].dropna() >= -1e-9).all() and (gaps["problems"] == 2).all()
    assert "GPTQ" in (smoke_run / "cards" / "perlayer.md").read_text()


def test_a_long_chunk_reports_its_progress_every_tenth_of_its_channels(capsys):
    """A whole layer's chunk (1152 channels) runs for many minutes; its job log must show it moving."""
    from pvq.perlayer.solve import Limits, OneShot, solve_chunks

    rng = np.random.default_rng(0)
    R = np.linalg.qr(rng.standard_normal((12, 4)), mode="r")
    chunk = {"chunk": 3, "R": R, "channels": np.arange(20), "w0": rng.standard_normal((20, 4)), "rows": 12}
    limits = Limits(prune_exact=5, quant_exact=5, mip=5, mip_channels=0, mip_bits=(), heuristic_samples=4)
    rows = solve_chunks("m", "conv", {"bits": np.array([4]), "delta": np.array([0.5])}, [chunk], limits, 8, 0,
                        OneShot(damp=0.01, order="act"))
    assert len(rows) == 20 and list(rows["out_channel"]) == list(range(20))
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" (")[0] for line in lines] == [f"conv: chunk 3: {k}/20 channels" for k in range(2, 20, 2)] + \
        ["conv: chunk 3 done"]
