"""Per-layer formats (pvq.perlayer.formats, Fig. 13's summary): the chunk's N:M groups are the real
tensor's (checked against pvq.methods' N:M mask on the whole tensor), per-channel scales are each
channel's MSE-optimal FP16 scale (checked by scanning every FP16 value), the boxes by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pvq import bounds
from pvq.methods import FP16, NM, Pruner
from pvq.perlayer.artifacts import FORMAT_BOXES, LAYER_FORMATS, TABLE6_FORMATS
from pvq.perlayer.formats import FormatSettings, channel_scales, chunk_positions, nm_labels, solve_formats
from pvq.perlayer.solve import OneShot
from pvq.perlayer.summary import chunk_boxes, format_boxes, table6_formats
from pvq.quantize import quantize_symmetric

ONESHOT = OneShot(damp=0.01, order="act")  # the schema defaults


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
    """Each spec's rows: the family's solvers, heuristic <= optimum, the optimum equals a direct solve
    with the channel's scale; each one-shot row equals a direct call of its pvq.bounds function on X
    itself (the stage solves on X's compressed rows, with groups it derives from the tensor's layout)."""
    weight, X, chunks = small_layer()
    settings = FormatSettings(("2:4", "4:8"), (3,), 10.0, 10.0, ONESHOT)
    rows = solve_formats("toy", "fc", weight, 1, chunks, 8, settings)
    assert not LAYER_FORMATS.problems(rows)
    assert set(rows["spec"]) == {"prune/2:4", "prune/4:8", "int3/per-channel/mse"}
    solvers = rows.groupby("spec")["solver"].agg(frozenset)
    assert solvers["prune/2:4"] == solvers["prune/4:8"] == {"heuristic", "optimum", "obs", "wanda", "wanda_refit"}
    assert solvers["int3/per-channel/mse"] == {"heuristic", "optimum", "rtn", "gptq"}
    wide = rows.pivot_table(index=["out_channel", "spec"], columns="solver", values="snr_db")
    assert (wide["optimum"] >= wide["heuristic"] - 1e-9).all()
    quant = wide.xs("int3/per-channel/mse", level="spec")
    assert np.allclose(quant["heuristic"], np.maximum(quant["rtn"], quant["gptq"]))
    signal = float(np.sum((X @ weight[2]) ** 2))
    snr = lambda result: 10 * np.log10(signal / result.error)  # noqa: E731
    got = lambda spec, solver: rows[(rows["out_channel"] == 2) & (rows["spec"] == spec)  # noqa: E731
                                    & (rows["solver"] == solver)]["snr_db"].iloc[0]
    delta = channel_scales(weight, 3)[2]
    assert got("int3/per-channel/mse", "optimum") == pytest.approx(snr(bounds.solve_quant_exact(X, weight[2], delta, 3)),
                                                                   abs=1e-6)
    assert got("int3/per-channel/mse", "rtn") == pytest.approx(snr(bounds.quant_rtn(X, weight[2], delta, 3)), abs=1e-6)
    assert got("int3/per-channel/mse", "gptq") == pytest.approx(snr(bounds.gptq_quant(X, weight[2], delta, 3)), abs=1e-6)
    for text, n, m in (("prune/2:4", 2, 4), ("prune/4:8", 4, 8)):
        assert got(text, "optimum") == pytest.approx(snr(bounds.solve_prune_nm_exact(X, weight[2], n, m)), abs=1e-6)
        assert got(text, "obs") == pytest.approx(snr(bounds.obs_prune_nm(X, weight[2], n, m)), abs=1e-6)
        assert got(text, "wanda") == pytest.approx(snr(bounds.wanda_prune_nm(X, weight[2], n, m)), abs=1e-6)
        assert got(text, "wanda_refit") == pytest.approx(snr(bounds.wanda_prune_nm(X, weight[2], n, m, refit=True)),
                                                         abs=1e-6)
    assert (rows.loc[rows["spec"] == "prune/2:4", "bits_per_weight"] == 9.0).all()


def test_oneshot_settings_reach_gptq_and_obs():
    """damp and order of FormatSettings.oneshot are the ones GPTQ and OBS run with."""
    weight, X, chunks = small_layer()
    settings = FormatSettings(("2:4",), (3,), 10.0, 10.0, OneShot(damp=0.3, order="natural"))
    rows = solve_formats("toy", "fc", weight, 1, chunks, 8, settings).set_index(["out_channel", "spec", "solver"])
    signal = float(np.sum((X @ weight[0]) ** 2))
    gptq = bounds.gptq_quant(X, weight[0], channel_scales(weight, 3)[0], 3, order="natural", damp=0.3)
    obs = bounds.obs_prune_nm(X, weight[0], 2, 4, damp=0.3)
    assert rows.loc[(0, "int3/per-channel/mse", "gptq"), "snr_db"] == pytest.approx(10 * np.log10(signal / gptq.error))
    assert rows.loc[(0, "prune/2:4", "obs"), "snr_db"] == pytest.approx(10 * np.log10(signal / obs.error))


def nasty_chunk(seed, rows):
    """A chunk of 8 features whose X has ``rows`` rows, a dead column and two identical columns."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, 8)) * rng.uniform(0.1, 3, 8)
    X[:, 5] = 0.0
    X[:, 7] = X[:, 2]
    weight = rng.standard_t(3, size=(4, 8))
    return weight, [{"chunk": 0, "rows": rows, "R": bounds.compress_rows(X), "w0": weight, "channels": np.arange(4)}]


@pytest.mark.parametrize("seed, rows", [(0, 40), (1, 40), (2, 5), (3, 3)])
def test_no_oneshot_method_beats_a_certified_optimum(seed, rows):
    """The optimum minimises the error over every support (N:M) or grid point (per-channel INT) the
    one-shot methods can return, so where it is certified no one-shot SNR is above it (up to the
    search's relative tolerance PRUNE_RTOL, and rounding: 1e-12 of the signal, where exact fits put
    both at a few hundred dB); singular X (fewer rows than features, a dead and a duplicated column)
    included."""
    weight, chunks = nasty_chunk(seed, rows)
    rows_out = solve_formats("toy", "fc", weight, 1, chunks, 8, FormatSettings(("2:4", "1:4"), (2, 4), 10.0, 10.0, ONESHOT))
    optimum = rows_out[rows_out["solver"] == "optimum"].set_index(["out_channel", "spec"])
    assert (optimum["status"] == "optimal").all()
    others = rows_out[~rows_out["solver"].isin(["optimum"])].set_index(["out_channel", "spec"])
    relative_error = lambda snr_db: 10 ** (-np.asarray(snr_db) / 10)  # error / signal  # noqa: E731
    reference = relative_error(optimum.loc[others.index, "snr_db"])
    assert np.all(relative_error(others["snr_db"]) >= reference * (1 - 1e-8) - 1e-12)
    assert set(others["solver"]) == {"heuristic", "obs", "wanda", "wanda_refit", "rtn", "gptq"}


def test_split_chunk_rows_carry_the_status_and_no_snr():
    rng = np.random.default_rng(1)
    weight = rng.standard_normal((2, 16, 3, 3))
    X = rng.standard_normal((200, 32))
    chunks = [{"chunk": 0, "rows": 200, "R": bounds.compress_rows(X), "w0": torch_rows(weight)[[1], :32],
               "channels": np.array([1])}]
    rows = solve_formats("toy", "conv", weight, 1, chunks, 32, FormatSettings(("2:4",), (4,), 5.0, 5.0, ONESHOT))
    split = rows[rows["spec"] == "prune/2:4"]
    assert set(split["solver"]) == {"heuristic", "optimum", "obs", "wanda", "wanda_refit"}
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
            "prune_status": status, "quant_gptq_snr_db": snr(1.1 * qh), "prune_obs_snr_db": snr(0.9 * pr),
            "prune_wanda_snr_db": snr(1.5 * pr), "prune_wanda_refit_snr_db": snr(1.2 * pr)}


def format_row(chunk, channel, signal, spec, family, solver, error, status, bound=None):
    """A LAYER_FORMATS row; error None: not solved (no SNR), 0: an exact fit (+inf dB)."""
    with np.errstate(divide="ignore"):
        snr = lambda e: 10 * np.log10(signal / np.float64(e)) if e is not None else np.nan  # noqa: E731
        return {"model": "toy", "layer": "fc", "chunk": chunk, "out_channel": channel, "n": 8, "m": 60,
                "tensor_rows": 4, "tensor_cols": 8, "signal_energy": signal, "spec": spec, "family": family,
                "solver": solver, "bits_per_weight": 1.0, "snr_db": snr(error), "bound_snr_db": snr(bound),
                "status": status, "seconds": 0.0}


def spec_rows(chunk, channel, signal, spec, errors, optimum_status="optimal", bound=None):
    """Every solver row of ``spec`` on one problem; ``errors``: solver -> error (heuristic and
    optimum included; None everywhere: the chunk splits the groups)."""
    family = "prune" if spec.startswith("prune") else "quant"
    rows = []
    for solver, error in errors.items():
        split = error is None
        status = "split_groups" if split else optimum_status if solver == "optimum" else "heuristic"
        known = None if split else (bound if bound is not None else error) if solver == "optimum" else None
        rows.append(format_row(chunk, channel, signal, spec, family, solver, error, status, known))
    return rows


def nm_errors(heuristic, optimum, obs, wanda, wanda_refit):
    return {"heuristic": heuristic, "optimum": optimum, "obs": obs, "wanda": wanda, "wanda_refit": wanda_refit}


def channel_errors(heuristic, optimum, rtn, gptq):
    return {"heuristic": heuristic, "optimum": optimum, "rtn": rtn, "gptq": gptq}


def test_format_boxes_by_hand():
    """Two channels of one chunk: chunk SNR = 10 log10(sum signal / sum error) on each side; a
    time-limited optimum contributes its bound; pairings and winners as stated; each pairing's
    marks come from its own sides (N:M's one-shot solvers, or the paper's rows for u0.75 and
    per-tensor INT)."""
    paper = pd.DataFrame([paper_row(0, 0, 100.0, (2.0, 1.0, 30.0, 20.0)), paper_row(0, 1, 300.0, (4.0, 3.0, 50.0, 40.0))])
    rows = (spec_rows(0, 0, 100.0, "prune/2:4", nm_errors(10.0, 8.0, 9.0, 15.0, 11.0))
            + spec_rows(0, 1, 300.0, "prune/2:4", nm_errors(20.0, 12.0, 14.0, 30.0, 25.0))
            + spec_rows(0, 0, 100.0, "int4/per-channel/mse", channel_errors(1.5, 0.5, 1.5, 2.0))
            # channel 1: the decoder stopped, bound 1.0 below its 1.5
            + spec_rows(0, 1, 300.0, "int4/per-channel/mse", channel_errors(2.5, 1.5, 3.0, 2.5), "time_limit", 1.0))
    formats = pd.DataFrame(rows)
    assert not LAYER_FORMATS.problems(formats)
    boxes = format_boxes(paper, formats)
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
    nm_marks = {"prune_obs_db": db(23.0), "prune_wanda_db": db(45.0), "prune_wanda_refit_db": db(36.0)}
    paper_marks = {"prune_obs_db": db(0.9 * 80), "prune_wanda_db": db(1.5 * 80), "prune_wanda_refit_db": db(1.2 * 80)}
    gptq = {"int4/per-channel/mse": db(4.5), "int4/per-tensor/mse": db(1.1 * 6)}
    for (prune, quant), marks in box[["quant_gptq_db", *nm_marks]].iterrows():
        assert marks["quant_gptq_db"] == pytest.approx(gptq[quant])
        for mark, value in (nm_marks if prune == "prune/2:4" else paper_marks).items():
            assert marks[mark] == pytest.approx(value), (prune, quant, mark)


def test_fig13_draws_every_mark_and_names_it():
    """Each box of Fig. 13 gets one mark per one-shot pruning method at (its SNR, GPTQ's SNR); an
    exact fit (+inf) is drawn at the panel's top instead of vanishing; the legend names the marks."""
    from pvq.plots.fig13_perlayer_formats import draw

    paper = pd.DataFrame([paper_row(0, 0, 100.0, (2.0, 1.0, 30.0, 20.0)), paper_row(0, 1, 300.0, (4.0, 3.0, 50.0, 40.0))])
    formats = pd.DataFrame(spec_rows(0, 0, 100.0, "prune/2:4", nm_errors(10.0, 8.0, 9.0, 15.0, 11.0))
                           + spec_rows(0, 1, 300.0, "prune/2:4", nm_errors(20.0, 12.0, 14.0, 30.0, 25.0))
                           + spec_rows(0, 0, 100.0, "int4/per-channel/mse", channel_errors(0.0, 0.0, 0.0, 0.0))
                           + spec_rows(0, 1, 300.0, "int4/per-channel/mse", channel_errors(0.0, 0.0, 0.0, 0.0)))
    boxes = format_boxes(paper, formats)
    assert np.isposinf(boxes.loc[boxes["quant_spec"] == "int4/per-channel/mse", "quant_gptq_db"]).all()
    fig = draw(boxes)
    panel = fig.axes[0]
    marks = [line for line in panel.get_lines() if line.get_marker() in ("o", "^", "v")]
    assert len(marks) == 3 * len(boxes)
    points = [(line.get_marker(), float(line.get_xdata()[0]), float(line.get_ydata()[0])) for line in marks]
    assert all(np.isfinite(x) and np.isfinite(y) for _, x, y in points)
    top = max(y for _, _, y in points)  # the exact per-channel GPTQ fits, drawn at the top
    db = lambda e: 10 * np.log10(400.0 / e)  # noqa: E731
    expected = [("o", db(23.0), db(6.6)), ("v", db(45.0), db(6.6)), ("^", db(36.0), top),  # 2:4 vs per-tensor / channel
                ("o", db(72.0), db(6.6)), ("v", db(120.0), top)]  # u0.75 (the paper's rows) vs per-tensor / channel
    for marker, x, y in expected:
        assert any(m == marker and x == pytest.approx(px) and y == pytest.approx(py) for m, px, py in points)
    assert top > db(6.6)
    legend = [text.get_text() for text in fig.legends[0].get_texts()]
    assert {"GPTQ vs OBS / SparseGPT", "GPTQ vs Wanda + refit", "GPTQ vs Wanda"} <= set(legend)


def test_table6_formats_by_hand():
    """Gaps are 10 log10(method error / optimum error) over the problems whose optimum is certified:
    chunk 1's N:M optimum stopped at its limit (no reference), chunk 2 splits 2:4's groups (counted as
    split, in no gap and no pairing) and its INT4 optimum is an exact fit (gap 0 for an exact method,
    +inf for GPTQ). Verdicts compare chunk SNRs (summed errors), the heuristics' pair against each row's."""
    nm, pc = "prune/2:4", "int4/per-channel/mse"
    rows = pd.DataFrame(
        spec_rows(0, 0, 100.0, nm, nm_errors(4.0, 2.0, 2.5, 8.0, 5.0))
        + spec_rows(0, 1, 100.0, nm, nm_errors(9.0, 3.0, 3.0, 12.0, 4.0))
        + spec_rows(1, 0, 100.0, nm, nm_errors(7.5, 5.0, 9.0, 20.0, 7.0), "time_limit", 4.0)
        + spec_rows(2, 0, 100.0, nm, nm_errors(None, None, None, None, None))
        + spec_rows(0, 0, 100.0, pc, channel_errors(3.0, 2.0, 3.0, 4.0))
        + spec_rows(0, 1, 100.0, pc, channel_errors(4.0, 4.0, 5.0, 4.0))
        + spec_rows(1, 0, 100.0, pc, channel_errors(7.0, 6.0, 7.0, 8.0))
        + spec_rows(2, 0, 100.0, pc, channel_errors(0.0, 0.0, 0.0, 1.0)))
    assert not LAYER_FORMATS.problems(rows)
    table = table6_formats(rows)
    assert not TABLE6_FORMATS.problems(table)
    assert list(zip(table["spec"], table["method"])) == [(pc, "heuristic"), (pc, "rtn"), (pc, "gptq"), (nm, "heuristic"),
                                                         (nm, "obs"), (nm, "wanda"), (nm, "wanda_refit")]
    table = table.set_index(["spec", "method"])
    db = lambda ratio: 10 * np.log10(ratio)  # noqa: E731
    expected = {  # (certified, problems, split, gaps over the certified problems)
        (nm, "heuristic"): (2, 3, 1, [db(2.0), db(3.0)]), (nm, "obs"): (2, 3, 1, [db(1.25), 0.0]),
        (nm, "wanda"): (2, 3, 1, [db(4.0), db(4.0)]), (nm, "wanda_refit"): (2, 3, 1, [db(2.5), db(4 / 3)]),
        (pc, "heuristic"): (4, 4, 0, [db(1.5), 0.0, db(7 / 6), 0.0]),
        (pc, "rtn"): (4, 4, 0, [db(1.5), db(1.25), db(7 / 6), 0.0]),
        (pc, "gptq"): (4, 4, 0, [db(2.0), 0.0, db(8 / 6), np.inf])}
    for key, (certified, problems, split, gaps) in expected.items():
        row = table.loc[key]
        assert (row["certified"], row["problems"], row["split"], row["pairings"]) == (certified, problems, split, 2)
        ordered = sorted(gaps)
        median = (ordered[1] + ordered[2]) / 2 if len(gaps) == 4 else (ordered[0] + ordered[1]) / 2
        assert row["median_gap_db"] == pytest.approx(median), key
        assert row["worst_gap_db"] == pytest.approx(ordered[-1]), key
    assert np.isposinf(table.loc[(pc, "gptq"), "worst_gap_db"])
    # verdicts (errors summed per chunk, quantization vs pruning): the heuristics': chunk 0 7 < 13,
    # chunk 1 7 < 7.5, both INT4. GPTQ + OBS: 8 > 5.5 (changes), 8 < 9; GPTQ + magnitude: 8 < 13,
    # 8 > 7.5 (changes); GPTQ + Wanda: 8 < 20, 8 < 20; GPTQ + Wanda refit: 8 < 9, 8 > 7 (changes);
    # RTN + magnitude: 8 < 13, 7 < 7.5
    changed = {"obs": 50.0, "gptq": 50.0, "wanda": 0.0, "wanda_refit": 50.0, "rtn": 0.0}
    for (spec, method), row in table.iterrows():
        if method == "heuristic":
            assert np.isnan(row["verdict_changed_pct"])
        else:
            assert row["verdict_changed_pct"] == changed[method], (spec, method)


def test_table6_formats_without_a_certified_reference_or_a_pairing():
    """A spec whose every chunk splits its groups: no gap (NaN), nothing certified, no pairing."""
    nm, pc = "prune/2:4", "int4/per-channel/mse"
    rows = pd.DataFrame(spec_rows(0, 0, 100.0, nm, nm_errors(None, None, None, None, None))
                        + spec_rows(0, 0, 100.0, pc, channel_errors(2.0, 1.5, 2.0, 3.0), "time_limit", 1.0))
    table = table6_formats(rows)
    assert not TABLE6_FORMATS.problems(table)
    table = table.set_index(["spec", "method"])
    assert (table["certified"] == 0).all() and (table["pairings"] == 0).all()
    assert table["median_gap_db"].isna().all() and table["verdict_changed_pct"].isna().all()
    assert (table.xs(nm)["split"] == 1).all() and (table.xs(pc)["problems"] == 1).all()


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
        FormatSettings(("u0.5",), (4,), 5.0, 5.0, ONESHOT)


@pytest.mark.pipeline
def test_smoke_run_draws_fig13(smoke_run):
    """The smoke run's format boxes: the paper's pairing is Fig. 4's box; at 4 bits 1:4 keeps as many
    weights as the paper's 75% sparsity (n = 12), so the unstructured optimum (a relaxation of 1:4) is
    at least as good; every N:M optimum is certified and no one-shot method beats one; every box has
    its marks; the companion of Table 6, the figure and the card's section exist."""
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
    formats = LAYER_FORMATS.read_all(sorted((smoke_run / "perlayer" / "efficientnet_lite0" / "formats").glob("*.csv")))
    wide = formats.pivot_table(index=["layer", "chunk", "out_channel", "spec"], columns="solver", values="snr_db")
    assert (wide["optimum"] >= wide["heuristic"] - 1e-9).all()
    certified = formats[(formats["solver"] == "optimum") & (formats["status"] == "optimal")].set_index(
        ["layer", "chunk", "out_channel", "spec"])
    for solver in ("obs", "wanda", "wanda_refit", "rtn", "gptq"):  # no one-shot method beats a certified optimum
        mine = wide.loc[wide.index.isin(certified.index), solver].dropna()
        assert len(mine) and (mine <= wide.loc[mine.index, "optimum"] + 1e-6).all(), solver
    assert boxes[["quant_gptq_db", "prune_obs_db", "prune_wanda_db", "prune_wanda_refit_db"]].notna().all().all()
    table = TABLE6_FORMATS.read(smoke_run / "tables" / "table6_formats_gap_to_optimum.csv")
    assert set(table["method"]) == {"heuristic", "obs", "wanda", "wanda_refit", "rtn", "gptq"}
    assert (table["median_gap_db"].dropna() >= -1e-6).all() and table["median_gap_db"].notna().any()
    for suffix in ("pdf", "png"):
        assert (smoke_run / "figures" / f"fig13_perlayer_formats.{suffix}").stat().st_size > 1000
    card = (smoke_run / "cards" / "perlayer.md").read_text()
    assert "prune/2:4" in card and "greedy OBS" in card and "table6_formats_gap_to_optimum" in card
