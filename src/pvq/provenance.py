"""What made an artifact: resolved config, code version and library versions."""

from __future__ import annotations

import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from pvq.config import REPO_ROOT

LIBRARIES = (
    "pvq", "numpy", "scipy", "pandas", "matplotlib", "torch", "torchvision", "cvxpy", "clarabel",
    "scs", "pulp", "highspy", "pyscipopt", "scikit-learn", "snakemake",
    # the paper tier's segmentation, detection and language-modelling tasks (pyproject's tasks extra)
    "torchmetrics", "effdet", "timm", "pycocotools", "transformers",
)


def library_versions() -> dict[str, str | None]:
    """Installed version of every library whose numbers can end up in an artifact (None if absent)."""
    versions: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit(repo: str | Path = REPO_ROOT) -> dict[str, Any]:
    """HEAD commit of ``repo`` (the checkout pvq runs from) and whether the tree had uncommitted changes; None outside git."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}


def provenance(config: dict[str, Any], repo: str | Path = REPO_ROOT) -> dict[str, Any]:
    """The record written beside every stage's artifacts."""
    return {
        "config": config,
        "code": git_commit(repo),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "libraries": library_versions(),
        "written_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
