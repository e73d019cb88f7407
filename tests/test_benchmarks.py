"""The benchmarks run on the interpreter the project pins (they have no test of their own otherwise)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO

BENCHMARKS = sorted((REPO / "benchmarks").glob("*.py"))


def test_there_are_benchmarks():
    assert len(BENCHMARKS) >= 5


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda p: p.name)
def test_benchmark_compiles(path):
    compile(path.read_text(), str(path), "exec")


def test_bench_bounds_parses_its_arguments():
    """Its imports and options hold together (a full run takes half an hour)."""
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_bounds.py"), "--help"],
                            capture_output=True, text=True, cwd=REPO, env={"PYTHONPATH": str(REPO / "src"),
                                                                       "PATH": ""})
    assert result.returncode == 0, result.stderr
    assert "--stop-limit" in result.stdout and "CPU seconds" in result.stdout
