"""Shared fixtures: the repository, a Snakemake runner, and one smoke run of the whole DAG."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "configs" / "smoke.yaml"
PAPER = REPO / "configs" / "paper.yaml"


def snakemake(*args: str, workdir: Path | None = None, check: bool = True,
              timeout: float = 3600) -> subprocess.CompletedProcess:
    """Run Snakemake on the repository's Snakefile from ``workdir`` (results land there)."""
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), *args]
    if workdir is not None:
        command += ["--directory", str(workdir)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    """Run the smoke tier end to end once per test session; return its results/smoke directory."""
    workdir = tmp_path_factory.mktemp("smoke")
    snakemake("--cores", "2", "--configfile", str(SMOKE), workdir=workdir)
    return workdir / "results" / "smoke"


@pytest.fixture(scope="session")
def cluster_run(tmp_path_factory) -> Path:
    """The smoke tier again, every job submitted through Snakemake's generic cluster executor with a
    fake scheduler (tests/fake_cluster/submit.sh); returns its results/smoke directory."""
    workdir = tmp_path_factory.mktemp("cluster")
    snakemake("--configfile", str(SMOKE), "--executor", "cluster-generic",
              "--cluster-generic-submit-cmd", str(REPO / "tests" / "fake_cluster" / "submit.sh"),
              "--jobs", "4", "--latency-wait", "5", workdir=workdir)
    return workdir / "results" / "smoke"
