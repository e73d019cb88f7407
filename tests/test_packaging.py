"""What the run needs is declared in the run's dependencies, not only in the test extra."""

from __future__ import annotations

import importlib.metadata as metadata
import tomllib

from packaging.requirements import Requirement

from conftest import REPO

# What `snakemake --report` (the last step of `make run`) imports besides Snakemake's core.
REPORT_MODULES = {"pygments": "pygments", "jinja2": "jinja2", "docutils": "docutils",
                  "humanfriendly": "humanfriendly", "yte": "yte"}


def closure(requirements: list[str]) -> set[str]:
    """Every distribution the requirements pull in, through the installed packages' metadata (with extras)."""
    seen: set[str] = set()
    todo = [(Requirement(text), None) for text in requirements]
    while todo:
        requirement, parent_extras = todo.pop()
        name = requirement.name.lower().replace("_", "-")
        if requirement.marker is not None and not any(
                requirement.marker.evaluate({"extra": extra}) for extra in (parent_extras or {""})):
            continue
        key = (name, tuple(sorted(requirement.extras)))
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo += [(Requirement(text), requirement.extras or {""}) for text in requires]
    return {name for name, _ in seen}


def main_dependencies() -> list[str]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]


def test_snakemake_report_needs_nothing_from_the_test_extra():
    needed = closure(main_dependencies())
    missing = sorted(module for module, dist in REPORT_MODULES.items() if dist not in needed)
    assert missing == []


def test_the_closure_follows_extras_and_markers():
    assert "pygments" not in closure(["snakemake>=9"])  # only the reports extra brings it
    assert "pygments" in closure(["snakemake[reports]>=9"])
