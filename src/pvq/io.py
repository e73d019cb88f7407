"""Artifacts on disk: atomic writes, and reads that hold every file to the contract of its kind.

Writes are atomic (a temporary file beside the target, then a rename), so an interrupted job leaves the
previous file or nothing, never half a file; files get the permissions a plain ``open()`` would give
(the umask decides), so a group can share a results folder.

Each stage declares the contract of every artifact it writes in its ``artifacts`` module (``Table`` for
a CSV, ``Record`` for a JSON, ``Artifact`` for a binary file): the writer checks it before writing and
every reader checks the file against it, so the two cannot drift. A truncated, damaged or stale file
then stops the job that reads it with an ``ArtifactError`` naming the file, what is wrong and how to
regenerate it, instead of flowing silently into a figure. A CSV cut short still parses (pandas pads
the last line with NaN), so reads also check that the file ends with a whole line, that every line
has the header's fields, that no required cell is empty, and what identifies a row.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a new empty temporary file beside ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary name keeps the suffix so writers that infer a format from it (matplotlib) work.
    It is created with mode 0o666 less the umask, as ``open()`` would, not tempfile's 0o600.
    Temporaries a killed writer left behind for the same target are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.stem}.*.part{path.suffix}"):
        stale.unlink(missing_ok=True)
    while True:
        tmp_path = path.parent / f".{path.stem}.{uuid.uuid4().hex[:8]}.part{path.suffix}"
        try:
            os.close(os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:  # pragma: no cover - a 32-bit random name taken twice
            continue
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_text(text: str, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(obj: Any, path: str | os.PathLike) -> None:
    write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", path)


def write_csv(frame, path: str | os.PathLike) -> None:
    """Write a pandas DataFrame without its index; floats keep full precision (repr round-trip)."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def save_figure(fig, *paths: str | os.PathLike, dpi: int = 200) -> None:
    """Save one matplotlib figure to every path (format from the suffix: .pdf, .png)."""
    for path in paths:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=Path(path).suffix.lstrip("."))


class ArtifactError(ValueError):
    """An input artifact that is missing, damaged or from another version of pvq; the message names
    the file, the problem and how to regenerate it."""


@dataclass(frozen=True, eq=False)
class Artifact:
    """An artifact kind: what it is (for messages) and the Snakemake rule that writes it (several
    rules, space-separated, where more than one does)."""

    what: str
    rule: str

    def error(self, path, problem: str) -> ArtifactError:
        those = "that rule" if len(self.rule.split()) == 1 else "those rules"
        return ArtifactError(
            f"{path} ({self.what}) {problem}. It is damaged or was written by another version of pvq. "
            f"Regenerate it: delete it and run snakemake again (only its job and what depends on it "
            f"rerun), or run `snakemake --cores N -R {self.rule}` (reruns every job of {those}).")

    @contextmanager
    def reading(self, path) -> Iterator[Path]:
        """Turn any failure to read ``path`` inside the block into this kind's ArtifactError."""
        path = Path(path)
        if not path.is_file():
            raise self.error(path, "is missing")
        try:
            yield path
        except ArtifactError:
            raise
        except Exception as error:  # torch, numpy, zipfile and json raise many types for damaged files
            raise self.error(path, f"cannot be read ({type(error).__name__}: {error})") from error


@dataclass(frozen=True, eq=False)
class Table(Artifact):
    """A CSV artifact's contract.

    columns: name -> int, float, str or bool (True/False), in file order. optional: columns whose cells may be empty
    (NaN); every other cell must be filled. finite: numeric columns that never hold +-inf (int columns
    never do). key: columns that together identify a row. complete: a key column whose set of values
    is the same in every group of the other key columns (every tensor has every bit width), so a file
    cut at a line boundary is still caught. complete_within: a required column that splits those
    groups into kinds with sets of their own (solvers per method family): the set must then be the
    same only among the groups of one kind. min_rows: fewest rows a whole file has.
    """

    columns: Mapping[str, type]
    optional: tuple[str, ...] = ()
    finite: tuple[str, ...] = ()
    key: tuple[str, ...] = ()
    complete: str | None = None
    complete_within: str | None = None
    min_rows: int = 1

    def __post_init__(self):
        names = set(self.columns)
        if not names or not set(self.columns.values()) <= {int, float, str, bool}:
            raise ValueError(f"{self.what}: columns must map names to int, float, str or bool")
        for label, listed in (("optional", self.optional), ("finite", self.finite), ("key", self.key)):
            if not set(listed) <= names:
                raise ValueError(f"{self.what}: {label} names unknown columns {sorted(set(listed) - names)}")
        if any(self.columns[name] in (str, bool) for name in self.finite):
            raise ValueError(f"{self.what}: finite names a text or true/false column")
        if set(self.key) & set(self.optional):
            raise ValueError(f"{self.what}: key columns cannot be optional")
        if self.complete is not None and self.complete not in self.key:
            raise ValueError(f"{self.what}: complete must be one of the key columns")
        if self.complete_within is not None and (self.complete is None or self.complete_within not in names
                                                 or self.complete_within in (self.complete, *self.optional)):
            raise ValueError(f"{self.what}: complete_within must be a required column other than complete "
                             "(and needs complete)")

    def problems(self, frame, expect: Mapping[str, Iterable] | None = None) -> list[str]:
        """Every way ``frame`` breaks the contract (empty: none). ``expect``: column -> the exact set of
        values it must hold. Line numbers count the header as line 1."""
        import numpy as np
        import pandas as pd

        found, wanted = list(frame.columns), list(self.columns)
        if found != wanted:
            missing = [name for name in wanted if name not in found]
            extra = [name for name in found if name not in wanted]
            return [f"has columns {found}; expected {wanted}"
                    + (f" (missing {missing})" if missing else "") + (f" (unexpected {extra})" if extra else "")]
        problems = []
        if len(frame) < self.min_rows:
            problems.append(f"has {len(frame)} rows; at least {self.min_rows} expected")
        for name, kind in self.columns.items():
            values = frame[name]
            empty = values.isna().to_numpy()
            if empty.any() and name not in self.optional:
                problems.append(f"has an empty {name!r} on line {_line(empty)}")
            present = values[~empty]
            if kind in (str, bool):
                wrong = ~present.map(lambda v: isinstance(v, (bool, np.bool_) if kind is bool else str))
                wrong = wrong.to_numpy(dtype=bool)
                if wrong.any():
                    problems.append(f"has a non-{'text' if kind is str else 'true/false'} {name!r} "
                                    f"({present[wrong].iloc[0]!r})")
                continue
            numbers = pd.to_numeric(present, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            bad = np.isnan(numbers) | pd.api.types.is_bool_dtype(present)  # text that is no number
            if bad.any():
                problems.append(f"has a non-numeric {name!r} ({present[bad].iloc[0]!r})")
                continue
            if kind is int:
                bad = ~np.isfinite(numbers) | (numbers != np.round(numbers))
                if bad.any():
                    problems.append(f"has a non-integer {name!r} ({numbers[bad][0]!r})")
            elif name in self.finite and not np.isfinite(numbers).all():
                problems.append(f"has a non-finite {name!r} ({numbers[~np.isfinite(numbers)][0]!r})")
        if self.key and not frame.empty:
            repeated = frame.duplicated(list(self.key)).to_numpy()
            if repeated.any():
                row = frame.iloc[int(np.flatnonzero(repeated)[0])]
                problems.append(f"repeats the row {_plain(row[list(self.key)])} on line {_line(repeated)}")
            elif self.complete is not None and len(self.key) > 1:
                problems += self._completeness(frame)
        for name, values in (expect or {}).items():
            held, wanted_values = set(frame[name].dropna()), set(values)
            if held != wanted_values:
                problems.append(f"holds {name} {sorted(_plain(held), key=str)}; "
                                f"expected {sorted(_plain(wanted_values), key=str)}")
        return problems

    def _completeness(self, frame) -> list[str]:
        others = [name for name in self.key if name != self.complete]
        within = [] if self.complete_within in (None, *others) else [self.complete_within]
        sets = frame.groupby(others + within, sort=False)[self.complete].agg(lambda values: frozenset(values))
        kinds = list(sets.index.get_level_values(self.complete_within)) if self.complete_within else [None] * len(sets)
        for kind in dict.fromkeys(kinds):
            mine = sets[[k == kind for k in kinds]]
            full = frozenset().union(*mine)
            short = mine[mine.map(lambda values: values != full)]
            if not short.empty:
                group = short.index[0] if len(others + within) > 1 else (short.index[0],)
                where = dict(zip(others, group))
                of = f" of {self.complete_within} {_plain([kind])[0]!r}" if self.complete_within else ""
                return [f"lacks {self.complete} {sorted(_plain(full - short.iloc[0]), key=str)}{of} for "
                        f"{_plain(where)} (cut short?)"]
        return []

    def read(self, path, expect: Mapping[str, Iterable] | None = None):
        """The CSV at ``path`` as a DataFrame, or an ArtifactError if it breaks the contract."""
        import pandas as pd

        with self.reading(path) as path:
            text = path.read_text()
        if not text.strip():
            raise self.error(path, "is empty")
        problems = _line_problems(text)
        if problems:
            raise self.error(path, "; ".join(problems))
        text_columns = {name: str for name, kind in self.columns.items() if kind is str}
        frame = pd.read_csv(io.StringIO(text), dtype=text_columns, keep_default_na=False, na_values=[""])
        problems = self.problems(frame, expect)
        if problems:
            raise self.error(path, "; ".join(problems[:3]))
        filled = [name for name, kind in self.columns.items() if kind is int and frame[name].notna().all()]
        return frame.astype({name: "int64" for name in filled})

    def read_all(self, paths: Iterable, expect: Mapping[str, Iterable] | None = None):
        """Several files of this kind, each checked, concatenated in order; no two may hold the same row
        (a file copied over another's name)."""
        import pandas as pd

        frames, owner = [], {}
        for path in paths:
            frame = self.read(path, expect)
            keys = list(frame[list(self.key)].itertuples(index=False, name=None)) if self.key else []
            for key in keys:
                if key in owner:
                    raise self.error(path, f"repeats the row {_plain(dict(zip(self.key, key)))} of {owner[key]}")
            owner.update(dict.fromkeys(keys, path))
            frames.append(frame)
        if not frames:
            raise ValueError(f"no {self.what} files given")
        return pd.concat(frames, ignore_index=True)

    def write(self, frame, path) -> None:
        """Write ``frame`` atomically after checking it against the contract (a writer bug otherwise)."""
        problems = self.problems(frame)
        if problems:
            raise ValueError(f"refusing to write {path}: the {self.what} breaks its contract: "
                             + "; ".join(problems))
        write_csv(frame, path)


@dataclass(frozen=True, eq=False)
class Record(Artifact):
    """A JSON object artifact's contract: its required fields and their JSON types (a type or a tuple
    of types; float accepts integers, ``type(None)`` null); finite: numeric fields that must be finite.
    Further fields may follow."""

    fields: Mapping[str, type | tuple[type, ...]]
    finite: tuple[str, ...] = ()

    def problems(self, record, expect: Mapping[str, Any] | None = None) -> list[str]:
        if not isinstance(record, dict):
            return [f"holds a JSON {type(record).__name__}, not an object"]
        problems = []
        for name, kinds in self.fields.items():
            if name not in record:
                problems.append(f"lacks the field {name!r}")
            elif not _is_json_type(record[name], kinds if isinstance(kinds, tuple) else (kinds,)):
                problems.append(f"has {name!r} = {record[name]!r}, not {_type_names(kinds)}")
            elif name in self.finite and not (isinstance(record[name], int | float) and math.isfinite(record[name])):
                problems.append(f"has a non-finite {name!r} ({record[name]!r})")
        for name, value in (expect or {}).items():
            if name in record and record[name] != value:
                problems.append(f"has {name!r} = {record[name]!r}; expected {value!r}")
        return problems

    def read(self, path, expect: Mapping[str, Any] | None = None) -> dict:
        with self.reading(path) as path:
            record = json.loads(path.read_text())
        problems = self.problems(record, expect)
        if problems:
            raise self.error(path, "; ".join(problems[:3]))
        return record

    def write(self, record: dict, path) -> None:
        problems = self.problems(record)
        if problems:
            raise ValueError(f"refusing to write {path}: the {self.what} breaks its contract: "
                             + "; ".join(problems))
        write_json(record, path)


def _line(mask) -> int:
    """File line of the first flagged row (the header is line 1)."""
    import numpy as np

    return int(np.flatnonzero(mask)[0]) + 2


def _plain(values):
    """numpy scalars as Python ones, so messages read [2, 4] rather than [np.int64(2), ...]."""
    plain = lambda v: v.item() if hasattr(v, "item") else v  # noqa: E731
    if hasattr(values, "items"):
        return {name: plain(value) for name, value in values.items()}
    return [plain(value) for value in values]


def _line_problems(text: str) -> list[str]:
    """A CSV cut short: no newline at its end, or a line with fewer (or more) fields than the header."""
    problems = [] if text.endswith("\n") else ["does not end with a newline (cut short?)"]
    rows = csv.reader(io.StringIO(text))
    width = len(next(rows))
    for number, row in enumerate(rows, 2):
        if len(row) != width:
            problems.append(f"has {len(row)} fields on line {number}; the header has {width}")
            break
    return problems


def _is_json_type(value, kinds: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in kinds
    if isinstance(value, int) and float in kinds:
        return True
    return isinstance(value, kinds)


def _type_names(kinds) -> str:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    return " or ".join("null" if kind is type(None) else kind.__name__ for kind in kinds)
