"""The paper tier's extra tasks lean on libraries the default and smoke tiers never import
(pyproject's ``tasks`` extra). A task or a model loader asks for them here, so a missing one is one
clear error that names the package and what needed it, not an ImportError deep inside a job."""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingPackageError(ImportError):
    """An optional package a task or model needs is not installed."""


def require(module: str, package: str, user: str) -> ModuleType:
    """Import ``module`` (distributed as ``package``) for ``user`` ("the detection task"), or raise
    MissingPackageError."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingPackageError(
            f"{user} needs the package {package!r}, which is not installed ({error}); install the "
            f"paper tier's task libraries with `pip install -e '.[tasks]'` in the repository") from error
