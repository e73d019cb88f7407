"""Artifacts on disk: atomic writes with the usual permissions, and contracts that catch damaged files."""

from __future__ import annotations

import itertools
import os
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from pvq.io import ArtifactError, Record, Table, atomic_path, write_csv, write_text


def test_failed_block_leaves_nothing(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("job died")
    assert list(tmp_path.iterdir()) == []


def test_failed_rewrite_keeps_the_previous_file(tmp_path):
    target = tmp_path / "out.csv"
    write_csv(pd.DataFrame({"a": [1]}), target)
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError
    assert pd.read_csv(target)["a"].tolist() == [1]


def test_killed_writer_leaves_no_target(tmp_path):
    target = tmp_path / "out.txt"
    script = (f"from pvq.io import atomic_path\nimport time\n"
              f"with atomic_path({str(target)!r}) as tmp:\n"
              f"    tmp.write_text('half'); print('writing', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.1)
    assert not target.exists()
    write_csv(pd.DataFrame({"a": [1]}), target)  # the rerun leaves only the artifact
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


# --- permissions: shared cluster folders need group-readable results --------------------------------

@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_written_files_get_the_mode_open_would_give(tmp_path, umask):
    previous = os.umask(umask)
    try:
        with open(tmp_path / "reference.txt", "w") as handle:  # what a plain open() gives
            handle.write("x")
        write_text("x", tmp_path / "out.txt")
        write_csv(pd.DataFrame({"a": [1]}), tmp_path / "out.csv")
        with atomic_path(tmp_path / "out.bin") as tmp:
            tmp.write_bytes(b"x")
    finally:
        os.umask(previous)
    expected = 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "reference.txt").stat().st_mode) == expected
    for name in ("out.txt", "out.csv", "out.bin"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == expected, name


# --- contracts: a damaged artifact is an error naming the file and its remedy -----------------------

def example(table: Table) -> pd.DataFrame:
    """A frame that satisfies ``table``: two values per key column (every combination), fillers elsewhere."""
    values = {int: [2, 4], float: [0.5, 1.5], str: ["a", "b"], bool: [True, False]}
    fillers = {int: 3, float: 0.25, str: "x", bool: True}
    keys = [dict(zip(table.key, combo)) for combo in itertools.product(
        *[values[table.columns[name]] for name in table.key])] or [{}] * max(table.min_rows, 2)
    rows = [{name: row.get(name, fillers[kind]) for name, kind in table.columns.items()} for row in keys]
    return pd.DataFrame(rows, columns=list(table.columns))


def tables():
    from pvq.artifacts import INPUTS
    from pvq.perlayer.artifacts import LAYER_PART

    return {**INPUTS, "perlayer part": LAYER_PART}


def assert_names_file_and_remedy(error, path, table):
    message = str(error)
    assert str(path) in message and table.what in message
    assert "delete it and run snakemake again" in message and f"snakemake --cores N -R {table.rule}" in message


@pytest.mark.parametrize("name", sorted(tables()))
def test_every_table_kind_reads_back_what_its_writer_wrote(tmp_path, name):
    table = tables()[name]
    frame = example(table)
    table.write(frame, tmp_path / "t.csv")
    pd.testing.assert_frame_equal(table.read(tmp_path / "t.csv"), frame, check_dtype=False)


def corruptions(table: Table, text: str) -> dict[str, str]:
    """Ways a CSV is damaged (by a cut, a disk error, an edit, an older pvq) and the problem each must report."""
    header, first, *rest = text.splitlines(keepends=True)
    first_name = next(iter(table.columns))
    cases = {
        "cut mid-line": (text[: len(text) - 4], "does not end with a newline"),
        "cut mid-line after a comma": (text[: text.rindex(",") + 1], "does not end with a newline"),
        "a short line": (header + first.rstrip("\n").rsplit(",", 1)[0] + "\n" + "".join(rest), "fields on line 2"),
        "empty": ("", "is empty"),
        "renamed column": (header.replace(first_name, first_name + "_old", 1) + first + "".join(rest),
                           f"missing ['{first_name}']"),
        "duplicated row": (text + first, "repeats the row") if table.key else None,
    }
    if table.complete:
        cases["cut at a line end"] = (header + first + "".join(rest[:-1]), f"lacks {table.complete}")
    numeric = [name for name, kind in table.columns.items() if kind in (int, float)]
    frame = example(table).astype(object)
    frame.loc[0, numeric[-1]] = "oops"
    cases["text in a number"] = (frame.to_csv(index=False), f"non-numeric {numeric[-1]!r}")
    flags = [name for name, kind in table.columns.items() if kind is bool]
    if flags:
        frame = example(table).astype(object)
        frame.loc[0, flags[0]] = "yes"
        cases["text in a flag column"] = (frame.to_csv(index=False), f"non-true/false {flags[0]!r}")
    required = [name for name in table.columns if name not in table.optional and name not in table.key]
    if required:
        frame = example(table).astype(object)
        frame.loc[0, required[-1]] = None
        cases["an empty required cell"] = (frame.to_csv(index=False), f"empty {required[-1]!r} on line 2")
    finite = [name for name in table.finite if table.columns[name] is float and name not in table.key]
    if finite:
        frame = example(table)
        frame.loc[0, finite[0]] = np.inf
        cases["inf where finite"] = (frame.to_csv(index=False), f"non-finite {finite[0]!r}")
    return {case: pair for case, pair in cases.items() if pair is not None and pair[0] is not None}


@pytest.mark.parametrize("name", sorted(tables()))
def test_every_table_kind_rejects_damage_naming_the_file_and_the_remedy(tmp_path, name):
    table = tables()[name]
    good = tmp_path / "good.csv"
    table.write(example(table), good)
    for case, (text, problem) in corruptions(table, good.read_text()).items():
        path = tmp_path / f"{case.replace(' ', '_')}.csv"
        path.write_text(text)
        with pytest.raises(ArtifactError) as caught:
            table.read(path)
        assert_names_file_and_remedy(caught.value, path, table)
        assert problem in str(caught.value), (case, str(caught.value))


def test_a_missing_or_binary_file_is_named(tmp_path):
    from pvq.zoo.artifacts import ZOO_SWEEP

    with pytest.raises(ArtifactError, match="is missing"):
        ZOO_SWEEP.read(tmp_path / "nothing.csv")
    (tmp_path / "binary.csv").write_bytes(bytes(range(256)))
    with pytest.raises(ArtifactError, match="cannot be read .UnicodeDecodeError") as caught:
        ZOO_SWEEP.read(tmp_path / "binary.csv")
    assert_names_file_and_remedy(caught.value, tmp_path / "binary.csv", ZOO_SWEEP)


def test_expected_values_catch_a_file_of_another_run(tmp_path):
    from pvq.analytic.artifacts import NORMAL

    NORMAL.write(example(NORMAL), tmp_path / "normal.csv")  # bits 2 and 4
    assert len(NORMAL.read(tmp_path / "normal.csv", expect={"bits": [4, 2]})) == 2
    with pytest.raises(ArtifactError, match=r"holds bits \[2, 4\]; expected \[2, 4, 8\]"):
        NORMAL.read(tmp_path / "normal.csv", expect={"bits": [2, 4, 8]})


def test_a_writer_that_breaks_its_contract_writes_nothing(tmp_path):
    from pvq.zoo.artifacts import ZOO_SWEEP

    frame = example(ZOO_SWEEP).drop(columns="natural_sparsity")
    with pytest.raises(ValueError, match=r"refusing to write .*missing \['natural_sparsity'\]"):
        ZOO_SWEEP.write(frame, tmp_path / "zoo.csv")
    assert list(tmp_path.iterdir()) == []


def test_a_contract_naming_unknown_columns_is_refused():
    with pytest.raises(ValueError, match="finite names unknown columns"):
        Table("t", "rule", columns={"a": float}, finite=("b",))


SOLVED = Table("solved problems", "solve_them", columns={"problem": int, "spec": str, "family": str, "solver": str},
               key=("problem", "spec", "solver"), complete="solver", complete_within="family")


def solved(drop=()):
    """Two problems, each with a pruning spec (solvers a, b, c) and a quantization spec (a, d), less ``drop``."""
    rows = [(problem, spec, family, solver) for problem in (0, 1)
            for spec, family, solvers in (("p", "prune", "abc"), ("q", "quant", "ad")) for solver in solvers]
    return pd.DataFrame([row for row in rows if row not in drop], columns=list(SOLVED.columns))


def test_completeness_within_a_kind():
    """Each family has its own solver set: whole files pass; a file that lacks one solver row of one
    family's problem fails naming that family; without complete_within the whole file already fails."""
    assert SOLVED.problems(solved()) == []
    problems = SOLVED.problems(solved(drop=[(1, "p", "prune", "c")]))
    assert problems == ["lacks solver ['c'] of family 'prune' for {'problem': 1, 'spec': 'p'} (cut short?)"]
    assert "lacks solver ['d'] of family 'quant'" in SOLVED.problems(solved(drop=[(0, "q", "quant", "d")]))[0]
    across = Table("solved problems", "solve_them", columns=SOLVED.columns, key=SOLVED.key, complete="solver")
    assert across.problems(solved()) == ["lacks solver ['d'] for {'problem': 0, 'spec': 'p'} (cut short?)"]


@pytest.mark.parametrize("within, why", [("solver", "other than complete"), ("nothing", "required column")])
def test_complete_within_must_be_a_required_column_other_than_complete(within, why):
    with pytest.raises(ValueError, match=why):
        Table("t", "rule", columns=SOLVED.columns, key=SOLVED.key, complete="solver", complete_within=within)


RECORD = Record("a record", "make_record", fields={"model": str, "bits": int, "metric": float,
                                                   "scales": (list, type(None))}, finite=("metric",))


@pytest.mark.parametrize("text, problem", [
    ('{"model": "m", "bits": 4, "metric": 81.2', "cannot be read (JSONDecodeError"),
    ("", "cannot be read (JSONDecodeError"),
    ('[1, 2]', "holds a JSON list, not an object"),
    ('{"model": "m", "bits": 4, "scales": null}', "lacks the field 'metric'"),
    ('{"model": "m", "bits": 4.5, "metric": 1, "scales": null}', "has 'bits' = 4.5, not int"),
    ('{"model": "m", "bits": true, "metric": 1, "scales": null}', "has 'bits' = True, not int"),
    ('{"model": "m", "bits": 4, "metric": NaN, "scales": null}', "non-finite 'metric'"),
    ('{"model": "m", "bits": 4, "metric": 1, "scales": 3}', "has 'scales' = 3, not list or null"),
])
def test_a_damaged_record_names_the_file_and_the_remedy(tmp_path, text, problem):
    path = tmp_path / "run.json"
    path.write_text(text)
    with pytest.raises(ArtifactError) as caught:
        RECORD.read(path)
    assert problem in str(caught.value)
    assert_names_file_and_remedy(caught.value, path, RECORD)


def test_a_whole_record_reads_back_and_expectations_hold(tmp_path):
    record = {"model": "m", "bits": 4, "metric": 81, "scales": [0.1], "extra": "kept"}
    RECORD.write(record, tmp_path / "run.json")
    assert RECORD.read(tmp_path / "run.json", expect={"model": "m"}) == record
    with pytest.raises(ArtifactError, match="has 'model' = 'm'; expected 'other'"):
        RECORD.read(tmp_path / "run.json", expect={"model": "other"})


def test_two_files_holding_the_same_rows_are_refused_naming_both(tmp_path):
    from pvq.zoo.artifacts import ZOO_SWEEP

    frame = example(ZOO_SWEEP)
    lite0, lite1, copy = tmp_path / "lite0.csv", tmp_path / "lite1.csv", tmp_path / "lite2.csv"
    ZOO_SWEEP.write(frame[frame["model"] == "a"], lite0)
    ZOO_SWEEP.write(frame[frame["model"] == "b"], lite1)
    ZOO_SWEEP.write(frame[frame["model"] == "a"], copy)  # lite0's file copied over lite2's name
    assert len(ZOO_SWEEP.read_all([lite0, lite1])) == len(frame)
    with pytest.raises(ArtifactError) as caught:
        ZOO_SWEEP.read_all([lite0, lite1, copy])
    assert str(caught.value).startswith(f"{copy} (zoo sweep of one model) repeats the row")
    assert f"of {lite0}." in str(caught.value)
