"""Atomic writes: an interrupted writer leaves the previous file or nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from pvq.io import atomic_path, write_csv


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
