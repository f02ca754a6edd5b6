"""Rows of a CSV file handed to virtual users, one per iteration (the ``data`` block).

The file is parsed once per process with the csv module; rows are kept as tuples beside
one tuple of field names (a dict per row would cost several times the memory on a
million-row file). ``sequence`` order depends only on the virtual user and iteration, so
every worker process agrees on who gets which row without talking to the others.
"""

from __future__ import annotations

import random
from pathlib import Path

from ..scenario.data import DataFileError, DataSpec, csv_rows, header_names, resolve_data_file

FeederError = DataFileError
"""The CSV file cannot feed a run; the message names the file (and line) and the fix."""

SEPARATOR = "\x1f"
"""ASCII unit separator: joins a row's values into one string (one object per row instead of n + 1)."""


class CsvFeeder:
    """Hands out rows as ``{field: value}``; ``stride`` is the number of virtual users sharing the file.

    In sequence order virtual user ``vu`` reads row ``(vu + iteration * stride) % n``: with
    ``stride`` set to the run's virtual users, no two users read the same row in one
    iteration and the file is walked in order. Random order draws from ``rng``.

    Rows are stored as one string per row, values joined by :data:`SEPARATOR` (about half
    the memory of a tuple of strings on a million rows); a file whose values hold that
    character keeps tuples.
    """

    __slots__ = ("_random", "_records", "fields", "stride")

    def __init__(self, fields: tuple[str, ...], rows: list[tuple[str, ...]], *, order: str = "sequence",
                 stride: int = 1) -> None:
        joined = not any(SEPARATOR in value for row in rows for value in row)
        self._setup(fields, [SEPARATOR.join(row) for row in rows] if joined else rows, order, stride)

    def _setup(self, fields: tuple[str, ...], records: list[str] | list[tuple[str, ...]], order: str,
               stride: int) -> None:
        if not records:
            raise FeederError("a data feeder needs at least one row")
        self.fields = fields
        self.stride = max(1, stride)
        self._random = order == "random"
        self._records = records

    @classmethod
    def load(cls, spec: DataSpec, base_dir: Path | str | None, *, stride: int = 1) -> CsvFeeder:
        """Parse the file once; every row must have as many values as there are fields."""
        path = resolve_data_file(spec.file, base_dir)
        reader = csv_rows(path, spec.delimiter)
        fields: tuple[str, ...] | None = tuple(spec.fields) if spec.fields is not None else None
        joined: list[str] = []
        tuples: list[tuple[str, ...]] | None = None  # used once a value holds the separator
        try:
            for line, row in reader:
                if fields is None:
                    fields = header_names(row, path)
                    continue
                if not row:
                    continue  # a blank line
                if len(row) != len(fields):
                    raise FeederError(f"{path}:{line}: {len(row)} values for {len(fields)} fields "
                                      f"({', '.join(fields)}); quote values that hold '{spec.delimiter}'")
                if tuples is not None:
                    tuples.append(tuple(row))
                    continue
                record = SEPARATOR.join(row)
                if record.count(SEPARATOR) != len(row) - 1:
                    tuples = [tuple(item.split(SEPARATOR)) for item in joined]
                    tuples.append(tuple(row))
                    continue
                joined.append(record)
        finally:
            reader.close()
        if fields is None:
            raise FeederError(f"{path}: the file is empty")
        if not joined and not tuples:
            raise FeederError(f"{path}: the file has a header row but no data rows" if spec.fields is None
                              else f"{path}: the file has no rows")
        feeder = cls.__new__(cls)
        feeder._setup(fields, joined if tuples is None else tuples, spec.order, stride)
        return feeder

    def __len__(self) -> int:
        return len(self._records)

    def values(self, index: int) -> tuple[str, ...]:
        """The values of row ``index`` (0-based, data rows only)."""
        record = self._records[index]
        return tuple(record.split(SEPARATOR)) if isinstance(record, str) else record

    def index(self, vu: int, iteration: int, rng: random.Random) -> int:
        """Which row this virtual user reads in this iteration."""
        if self._random:
            return rng.randrange(len(self._records))
        return (vu + iteration * self.stride) % len(self._records)

    def row(self, vu: int, iteration: int, rng: random.Random) -> dict[str, str]:
        record = self._records[self.index(vu, iteration, rng)]
        values = record.split(SEPARATOR) if isinstance(record, str) else record
        return dict(zip(self.fields, values, strict=False))  # lengths were checked at load
