"""The package map of DESIGN.md holds: plots read files (no torch, no solvers, no stage), pvq.bounds works
on numpy arrays (no torch), stages use the primitives and never the reverse, and no stage imports a plot
or the report. The contracts live in pyproject.toml ([tool.importlinter]); import-linter checks them on
the static import graph, lazy imports inside functions included."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO

LINT = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def lint_imports(src: Path) -> subprocess.CompletedProcess:
    """`lint-imports` with the repository's contracts on the package ``pvq`` found under ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src), "COLUMNS": "300", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-c", LINT, "--config", str(REPO / "pyproject.toml"),
                           "--no-cache", "--no-logo"], cwd=src, env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_code_keeps_the_package_map():
    result = lint_imports(REPO / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def copy_of_the_package(tmp_path: Path) -> Path:
    """The Python files of src/pvq under ``tmp_path``/src (data files are not part of the import graph)."""

    def not_python(folder: str, names: list[str]) -> list[str]:
        return [name for name in names if name == "__pycache__"
                or (not name.endswith(".py") and not (Path(folder) / name).is_dir())]

    shutil.copytree(REPO / "src" / "pvq", tmp_path / "src" / "pvq", ignore=not_python)
    return tmp_path / "src"


def add_line(module: Path, line: str) -> None:
    module.write_text(module.read_text() + f"\n{line}\n")


def test_each_contract_catches_a_forbidden_import(tmp_path):
    src = copy_of_the_package(tmp_path)
    pvq = src / "pvq"
    add_line(pvq / "plots" / "fig5_t_kurtosis.py", "import torch")
    add_line(pvq / "plots" / "fig1_normal.py", "def lazy():\n    from scipy.stats import gaussian_kde")
    add_line(pvq / "plots" / "fig4_perlayer.py", "from pvq.perlayer import summary")
    add_line(pvq / "bounds" / "problem.py", "def lazy():\n    import torch")
    add_line(pvq / "metrics.py", "from pvq.zoo import sweep")
    add_line(pvq / "zoo" / "sweep.py", "from pvq.plots import style")
    result = lint_imports(src)
    out = result.stdout
    assert result.returncode != 0, out
    assert "0 kept, 4 broken" in out, out
    for arrow in ["pvq.plots.fig5_t_kurtosis -> torch", "pvq.plots.fig1_normal -> scipy",
                  "pvq.plots.fig4_perlayer -> pvq.perlayer.summary", "pvq.bounds.problem -> torch",
                  "pvq.metrics -> pvq.zoo.sweep", "pvq.zoo.sweep -> pvq.plots.style"]:
        assert arrow in out, (arrow, out)


def test_an_indirect_import_through_a_primitive_is_caught(tmp_path):
    """A plot that reaches torch through another module breaks the contract as a direct import would."""
    src = copy_of_the_package(tmp_path)
    add_line(src / "pvq" / "io.py", "def lazy():\n    from pvq.models import registry")
    result = lint_imports(src)
    assert result.returncode != 0
    assert "pvq.plots is not allowed to import torch" in result.stdout, result.stdout


def test_every_package_has_a_place_in_the_map():
    """A new package or module of pvq must be placed: a stage (no plot imports it), a primitive (imports
    no stage), or one of the readers and entry points; otherwise the contracts would not see it."""
    import tomllib

    contracts = {c["id"]: c for c in tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]}
    stages = set(contracts["stages-write-files"]["source_modules"])
    primitives = set(contracts["primitives-below-stages"]["source_modules"])
    readers_and_entry_points = {"pvq.plots", "pvq.report", "pvq.artifacts", "pvq.__main__", "pvq.provenance_cli"}
    assert stages <= set(contracts["plots-read-files"]["forbidden_modules"])
    assert stages <= set(contracts["primitives-below-stages"]["forbidden_modules"])
    root = REPO / "src" / "pvq"
    found = {f"pvq.{p.stem}" for p in root.glob("*.py") if p.stem != "__init__"}
    found |= {f"pvq.{p.parent.name}" for p in root.glob("*/__init__.py")}
    assert found == stages | primitives | readers_and_entry_points
