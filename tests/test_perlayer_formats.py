"""Per-layer formats (pvq.perlayer.formats, Fig. 13's summary): the chunk's N:M groups are the real
tensor's (checked against pvq.methods' N:M mask on the whole tensor), per-channel scales are each
channel's MSE-optimal FP16 scale (checked by scanning every FP16 value), the boxes by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pvq import bounds
from pvq.methods import FP16, NM, Pruner
from pvq.perlayer.artifacts import FORMAT_BOXES, LAYER_FORMATS
from pvq.perlayer.formats import FormatSettings, channel_scales, chunk_positions, nm_labels, solve_formats
from pvq.perlayer.summary import chunk_boxes, format_boxes
from pvq.quantize import quantize_symmetric


def torch_rows(weight):
    """Rows as the unfolded input orders them (weight.reshape(out, -1): input channel, then kernel)."""
    return weight.reshape(weight.shape[0], -1)


@pytest.mark.parametrize("shape,groups,chunk_features", [
    ((5, 3, 3, 3), 1, 32),    # the stem: 27 features, one chunk, strided groups
    ((6, 40), 1, 8),          # linear / 1x1: chunks of 8 along 40 inputs
    ((4, 16, 1, 1), 1, 12),   # 1x1 conv, last chunk shorter (4 features)
    ((7, 1, 3, 3), 7, 32),    # depthwise: one kernel per chunk, a short last group
])
@pytest.mark.parametrize("n,m", [(2, 4), (1, 4)])
def test_chunk_groups_are_the_tensors_nm_groups(shape, groups, chunk_features, n, m):
    """N:M magnitude on a whole chunk (identity X, the solver's groups) keeps exactly what
    pvq.methods' NM(n, m) keeps on the whole tensor at those columns."""
    rng = np.random.default_rng(0)
    weight = rng.standard_normal(shape)
    mask = Pruner(NM(n, m)).apply(weight)[0] != 0
    rows, masks = torch_rows(weight), torch_rows(mask)
    per_out = rows.shape[1]
    chunks = range(-(-per_out // chunk_features)) if groups == 1 else [0]
    for chunk in chunks:
        features = min(chunk_features, per_out - chunk * chunk_features) if groups == 1 else per_out
        positions = chunk_positions(shape, groups, chunk, chunk_features, features)
        labels = nm_labels(positions, m, per_out)
        assert labels is not None
        columns = np.arange(chunk * chunk_features, chunk * chunk_features + features) if groups == 1 \
            else np.arange(per_out)
        for channel in range(shape[0]):
            kept = bounds.prune_nm_heuristic(np.eye(features), rows[channel, columns], n, m, groups=labels,
                                             refit=False)
            assert list(kept.info["support"]) == list(np.flatnonzero(masks[channel, columns]))


def test_positions_follow_the_reduction_layout():
    """Position p of chunk column t: the reduction-layout row (input channels fastest) holds the same weight."""
    weight = np.arange(2 * 5 * 3 * 3, dtype=float).reshape(2, 5, 3, 3)
    layout = np.moveaxis(weight, 1, -1).reshape(2, -1)
    positions = chunk_positions(weight.shape, 1, 1, 20, 20)
    assert np.array_equal(layout[1, positions], torch_rows(weight)[1, 20:40])


def test_split_groups_are_detected():
    """A 3x3 conv cut into chunks of 32: a 2:4 group (4 input channels at one kernel position) spans
    chunks; chunks of 36 (4 channels x 9 positions) hold whole groups (the paper tier's setting)."""
    shape = (4, 16, 3, 3)
    assert nm_labels(chunk_positions(shape, 1, 0, 32, 32), 4, 144) is None
    assert nm_labels(chunk_positions(shape, 1, 1, 36, 36), 4, 144) is not None
    assert nm_labels(chunk_positions(shape, 1, 1, 36, 36), 8, 144) is None  # 4:8 needs 8 channels


def test_chunk_that_does_not_fit_is_refused():
    with pytest.raises(ValueError, match="collected with these settings"):
        chunk_positions((4, 16, 1, 1), 1, 1, 12, 12)


def test_channel_scales_are_each_channels_best_fp16_scale():
    """Scanning every FP16 value in (0, 2 max|w| / 7]: none quantizes the channel with less error."""
    rng = np.random.default_rng(3)
    weight = rng.standard_t(3, size=(3, 40)) * 0.05
    scales = channel_scales(weight, 4)
    for row, scale in zip(weight, scales):
        assert FP16.quantize(np.array([scale]))[0] == scale
        candidates = FP16.positive_levels()
        candidates = candidates[(candidates > 0) & (candidates <= 2 * np.abs(row).max() / 7)]
        errors = [np.sum((row - quantize_symmetric(row, s, 4)) ** 2) for s in candidates]
        assert np.sum((row - quantize_symmetric(row, scale, 4)) ** 2) <= min(errors) * (1 + 1e-9)


def small_layer():
    rng = np.random.default_rng(5)
    weight = rng.standard_normal((3, 8)) * rng.uniform(0.2, 1, 8)
    X = rng.standard_normal((60, 8)) @ (np.eye(8) + 0.5 * rng.standard_normal((8, 8)))
    chunks = [{"chunk": 0, "rows": 60, "R": bounds.compress_rows(X), "w0": weight[[0, 2]],
               "channels": np.array([0, 2])}]
    return weight, X, chunks


def test_solve_formats_rows():
    """Each spec's rows: heuristic <= optimum, the optimum equals a direct solve with the channel's scale."""
    weight, X, chunks = small_layer()
    settings = FormatSettings(("2:4", "4:8"), (3,), 10.0, 10.0)
    rows = solve_formats("toy", "fc", weight, 1, chunks, 8, settings)
    assert not LAYER_FORMATS.problems(rows)
    assert set(rows["spec"]) == {"prune/2:4", "prune/4:8", "int3/per-channel/mse"}
    wide = rows.pivot_table(index=["out_channel", "spec"], columns="solver", values="snr_db")
    assert (wide["optimum"] >= wide["heuristic"] - 1e-9).all()
    signal = float(np.sum((X @ weight[2]) ** 2))
    delta = channel_scales(weight, 3)[2]
    direct = bounds.solve_quant_exact(X, weight[2], delta, 3)
    got = rows[(rows["out_channel"] == 2) & (rows["spec"] == "int3/per-channel/mse") & (rows["solver"] == "optimum")]
    assert got["snr_db"].iloc[0] == pytest.approx(10 * np.log10(signal / direct.error), abs=1e-6)
    nm = bounds.solve_prune_nm_exact(X, weight[2], 2, 4)
    got = rows[(rows["out_channel"] == 2) & (rows["spec"] == "prune/2:4") & (rows["solver"] == "optimum")]
    assert got["snr_db"].iloc[0] == pytest.approx(10 * np.log10(signal / nm.error), abs=1e-6)
    assert (rows.loc[rows["spec"] == "prune/2:4", "bits_per_weight"] == 9.0).all()


def test_split_chunk_rows_carry_the_status_and_no_snr():
    rng = np.random.default_rng(1)
    weight = rng.standard_normal((2, 16, 3, 3))
    X = rng.standard_normal((200, 32))
    chunks = [{"chunk": 0, "rows": 200, "R": bounds.compress_rows(X), "w0": torch_rows(weight)[[1], :32],
               "channels": np.array([1])}]
    rows = solve_formats("toy", "conv", weight, 1, chunks, 32, FormatSettings(("2:4",), (4,), 5.0, 5.0))
    split = rows[rows["spec"] == "prune/2:4"]
    assert (split["status"] == "split_groups").all() and split["snr_db"].isna().all()
    assert rows.loc[rows["spec"] == "int4/per-channel/mse", "snr_db"].notna().all()
    assert not LAYER_FORMATS.problems(rows)


def paper_row(chunk, channel, signal, errors, status="optimal"):
    """A LAYER_BOUNDS row at 4 bits with the errors (quant heuristic, quant exact, prune refit, prune optimum)."""
    snr = lambda e: 10 * np.log10(signal / e)  # noqa: E731
    qh, qe, pr, po = errors
    return {"model": "toy", "layer": "fc", "chunk": chunk, "out_channel": channel, "n": 8, "m": 60, "bits": 4,
            "sparsity": 0.75, "keep": 2, "delta": 0.1, "signal_energy": signal,
            "quant_heuristic_snr_db": snr(qh), "quant_exact_snr_db": snr(qe), "quant_exact_bound_snr_db": snr(qe),
            "quant_sdp_bound_snr_db": snr(qe / 2), "quant_status": "optimal", "quant_sdp_status": "optimal",
            "prune_refit_snr_db": snr(pr), "prune_opt_snr_db": snr(po), "prune_bound_snr_db": snr(po),
            "prune_status": status, "quant_gptq_snr_db": snr(qh), "prune_obs_snr_db": snr(pr),
            "prune_wanda_snr_db": snr(pr), "prune_wanda_refit_snr_db": snr(pr)}


def format_row(chunk, channel, signal, spec, family, solver, error, status, bound=None):
    return {"model": "toy", "layer": "fc", "chunk": chunk, "out_channel": channel, "n": 8, "m": 60,
            "tensor_rows": 4, "tensor_cols": 8, "signal_energy": signal, "spec": spec, "family": family,
            "solver": solver, "bits_per_weight": 1.0, "snr_db": 10 * np.log10(signal / error) if error else np.nan,
            "bound_snr_db": 10 * np.log10(signal / bound) if bound else np.nan, "status": status, "seconds": 0.0}


def test_format_boxes_by_hand():
    """Two channels of one chunk: chunk SNR = 10 log10(sum signal / sum error) on each side; a
    time-limited optimum contributes its bound; pairings and winners as stated."""
    paper = pd.DataFrame([paper_row(0, 0, 100.0, (2.0, 1.0, 30.0, 20.0)), paper_row(0, 1, 300.0, (4.0, 3.0, 50.0, 40.0))])
    rows = []
    for channel, signal, nm, pc in ((0, 100.0, (10.0, 8.0), (1.5, 0.5)), (1, 300.0, (20.0, 12.0), (2.5, 1.5))):
        rows += [format_row(0, channel, signal, "prune/2:4", "prune", "heuristic", nm[0], "heuristic"),
                 format_row(0, channel, signal, "prune/2:4", "prune", "optimum", nm[1], "optimal", nm[1]),
                 format_row(0, channel, signal, "int4/per-channel/mse", "quant", "heuristic", pc[0], "heuristic")]
        status = "optimal" if channel == 0 else "time_limit"
        rows.append(format_row(0, channel, signal, "int4/per-channel/mse", "quant", "optimum", pc[1], status,
                               pc[1] if channel == 0 else 1.0))  # channel 1: bound 1.0 below its 1.5
    boxes = format_boxes(paper, pd.DataFrame(rows))
    assert not FORMAT_BOXES.problems(boxes)
    assert len(boxes) == 4  # {u0.75, 2:4} x {per-tensor, per-channel}
    box = boxes.set_index(["prune_spec", "quant_spec"])
    db = lambda e: 10 * np.log10(400.0 / e)  # noqa: E731
    nm = box.loc[("prune/2:4", "int4/per-channel/mse")]
    assert nm["prune_low_db"] == pytest.approx(db(30.0)) and nm["prune_high_db"] == pytest.approx(db(20.0))
    assert nm["quant_low_db"] == pytest.approx(db(4.0)) and nm["quant_high_db"] == pytest.approx(db(1.5))
    assert nm["prune_certified"] and not nm["quant_exact"]
    assert nm["winner"] == "quant" and nm["optima_winner"] == "quant"  # its heuristic beats 2:4's optimum
    paper_box = chunk_boxes(paper).iloc[0]
    same = box.loc[("prune/u0.75", "int4/per-tensor/mse")]
    for column in ("prune_low_db", "prune_high_db", "quant_low_db", "quant_high_db"):
        assert same[column] == pytest.approx(paper_box[column])
    assert same["optima_winner"] == "quant" and same["prune_bits_per_weight"] == 5.0  # 4 FP16 + 1 bitmap bit
    assert box.loc[("prune/2:4", "int4/per-tensor/mse"), "quant_bits_per_weight"] == pytest.approx(4 + 16 / 32)


def test_optima_winner_uses_certified_optima_and_bounds():
    """A stopped search's high end is an upper bound: a certified optimum above it wins for certain."""
    from pvq.perlayer.summary import optima_winner

    boxes = pd.DataFrame({"quant_high_db": [20.0, 20.0, 20.0, 20.0, 20.0, 20.0, 20.0],
                          "quant_low_db": [18.0, 18.0, 18.0, 18.0, 18.0, 18.0, 18.0],
                          "prune_high_db": [25.0, 25.0, 15.0, 15.0, 20.0, 25.0, 17.0],
                          "prune_low_db": [21.0, 21.0, 10.0, 10.0, 16.0, 19.0, 16.0],
                          "quant_exact": [False, True, True, False, True, False, False],
                          "prune_certified": [True, True, False, False, True, False, False]})
    # rows: certified prune above quant's bound; both certified; certified quant above prune's bound;
    # quant's solution (low 18) above prune's bound 15; tie; overlapping bounds; quant's 18 above 17
    assert list(optima_winner(boxes)) == ["prune", "prune", "quant", "quant", "tie", "uncertified", "quant"]


def test_settings_refuse_a_pattern_that_is_not_nm():
    with pytest.raises(ValueError, match="n:m"):
        FormatSettings(("u0.5",), (4,))


@pytest.mark.pipeline
def test_smoke_run_draws_fig13(smoke_run):
    """The smoke run's format boxes: the paper's pairing is Fig. 4's box; at 4 bits 1:4 keeps as many
    weights as the paper's 75% sparsity (n = 12), so the unstructured optimum (a relaxation of 1:4) is
    at least as good; every N:M optimum is certified; the figure and the card's section exist."""
    from pvq.perlayer.artifacts import CHUNK_BOXES

    boxes = FORMAT_BOXES.read(smoke_run / "perlayer" / "format_boxes.csv")
    paper = CHUNK_BOXES.read(smoke_run / "perlayer" / "chunk_boxes.csv")
    paper = paper[paper["bits"] == 4].set_index(["layer", "chunk"])
    assert set(boxes["prune_spec"]) == {"prune/u0.75", "prune/2:4", "prune/1:4"}
    assert set(boxes["quant_spec"]) == {"int4/per-tensor/mse", "int4/per-channel/mse"}
    same = boxes[(boxes["prune_spec"] == "prune/u0.75") & (boxes["quant_spec"] == "int4/per-tensor/mse")]
    for _, box in same.iterrows():
        for column in ("prune_low_db", "prune_high_db", "quant_low_db", "quant_high_db"):
            assert box[column] == pytest.approx(paper.loc[(box["layer"], box["chunk"]), column])
    assert boxes.loc[boxes["prune_spec"] != "prune/u0.75", "prune_certified"].all()
    by = boxes.drop_duplicates(["layer", "chunk", "prune_spec"]).set_index(["layer", "chunk", "prune_spec"])
    for layer, chunk in paper.index:
        assert by.loc[(layer, chunk, "prune/u0.75"), "prune_high_db"] >= by.loc[(layer, chunk, "prune/1:4"),
                                                                                "prune_high_db"] - 1e-9
    formats = LAYER_FORMATS.read(next((smoke_run / "perlayer" / "efficientnet_lite0" / "formats").glob("*.csv")))
    wide = formats.pivot_table(index=["chunk", "out_channel", "spec"], columns="solver", values="snr_db")
    assert (wide["optimum"] >= wide["heuristic"] - 1e-9).all()
    for suffix in ("pdf", "png"):
        assert (smoke_run / "figures" / f"fig13_perlayer_formats.{suffix}").stat().st_size > 1000
    assert "prune/2:4" in (smoke_run / "cards" / "perlayer.md").read_text()
