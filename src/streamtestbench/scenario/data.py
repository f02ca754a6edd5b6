"""The ``data`` block: a CSV file whose rows feed template variables, one row per iteration.

As Artillery's ``payload`` and k6's SharedArray+papaparse: ``{"file": "users.csv",
"order": "sequence"}`` and a flow that writes ``${username}``. The header row names the
columns unless ``fields`` is given (then every row is data). The loader resolves ``file``
against the scenario file's folder and checks it can be read.
"""

from __future__ import annotations

import csv
from collections.abc import Generator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from .base import ScenarioModel
from .interpolate import interpolate


class DataSpec(ScenarioModel):
    file: str = Field(min_length=1)
    order: Literal["sequence", "random"] = "sequence"
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    fields: list[str] | None = Field(default=None, min_length=1)

    @field_validator("delimiter")
    @classmethod
    def _usable_delimiter(cls, value: str) -> str:
        if value in ('"', "\r", "\n"):
            raise ValueError("delimiter cannot be a quote or a line break; use ',', ';', '|' or a tab")
        return value

    @field_validator("fields")
    @classmethod
    def _distinct_names(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        blank = [index for index, name in enumerate(value) if not name.strip()]
        if blank:
            raise ValueError(f"field names cannot be blank (position {blank[0] + 1})")
        repeated = sorted({name for name in value if value.count(name) > 1})
        if repeated:
            raise ValueError(f"field names must be unique; repeated: {', '.join(repeated)}")
        return value


class DataFileError(ValueError):
    """The data file cannot feed a run; the message names the file (and line where it helps)."""


def resolve_data_file(file: str, base_dir: Path | str | None) -> Path:
    """``file`` as an absolute path; a relative name is relative to ``base_dir`` (the scenario's folder)."""
    path = Path(file).expanduser()
    if path.is_absolute():
        return path
    return (Path(base_dir) if base_dir is not None else Path.cwd()).joinpath(path).resolve()


def csv_rows(path: Path, delimiter: str) -> Generator[tuple[int, list[str]], None, None]:
    """``(line, record)`` pairs parsed by the csv module (quoted values may hold delimiters and line breaks)."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise DataFileError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataFileError(f"{path}: is a directory, not a CSV file") from None
    except OSError as error:
        raise DataFileError(f"{path}: cannot read: {error.strerror}") from None
    with handle:
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        try:
            for row in reader:
                yield reader.line_num, row
        except UnicodeDecodeError:
            raise DataFileError(f"{path}: is not UTF-8 text") from None
        except csv.Error as error:
            raise DataFileError(f"{path}:{reader.line_num}: malformed CSV: {error}") from None


def header_names(row: list[str], path: Path) -> tuple[str, ...]:
    """The column names of a header row: non-blank and distinct."""
    names = tuple(name.strip() for name in row)
    if not names or any(not name for name in names):
        raise DataFileError(f"{path}:1: the header row has a blank column name")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DataFileError(f"{path}:1: the header row repeats {', '.join(repeated)}")
    return names


def read_columns(spec: DataSpec, base_dir: Path | str | None) -> tuple[str, ...]:
    """The column names (``fields`` or the header row), after checking the file has a data row."""
    path = resolve_data_file(spec.file, base_dir)
    rows = csv_rows(path, spec.delimiter)
    try:
        first = next(rows, None)
        if first is None:
            raise DataFileError(f"{path}: the file is empty")
        if spec.fields is not None:
            return tuple(spec.fields)
        header = header_names(first[1], path)
        if not any(row for _, row in rows):
            raise DataFileError(f"{path}: the file has a header row but no data rows")
        return header
    finally:
        rows.close()


def raw_data_specs(data: Any) -> list[tuple[tuple[str | int, ...], Any]]:
    """``(path, raw data block)`` for the scenario and each group, before validation."""
    found: list[tuple[tuple[str | int, ...], Any]] = []
    if isinstance(data, dict):
        if isinstance(data.get("data"), dict):
            found.append((("data",), data["data"]))
        groups = data.get("groups")
        if isinstance(groups, list):
            found.extend(((("groups", index, "data"), group["data"]) for index, group in enumerate(groups)
                          if isinstance(group, dict) and isinstance(group.get("data"), dict)))
    return found


def scan_data_files(data: Any, env: Mapping[str, str], base_dir: Path | str | None
                    ) -> tuple[frozenset[str], list[tuple[tuple[str | int, ...], DataFileError]]]:
    """Column names of every data block, and the blocks whose file cannot be used.

    Runs before load-time interpolation, which must leave ``${username}`` for run time when
    ``username`` is a column. A block that is otherwise invalid (a bad ``order``, a file
    name from an unset variable) is skipped here: validation reports it in its own words.
    """
    names: set[str] = set()
    problems: list[tuple[tuple[str | int, ...], DataFileError]] = []
    for loc, raw in raw_data_specs(data):
        fields = raw.get("fields")
        if isinstance(fields, list):
            names.update(str(name) for name in fields)
        try:
            file = interpolate(raw.get("file"), env, keep=frozenset())
            spec = DataSpec.model_validate({**raw, "file": file})
        except ValueError:
            continue
        try:
            names.update(read_columns(spec, base_dir))
        except DataFileError as error:
            problems.append(((*loc, "file"), error))
    return frozenset(names), problems
