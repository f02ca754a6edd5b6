"""Named baselines on disk: ``.streamtestbench/baselines/NAME.json`` by default.

A baseline is a results document saved verbatim (so :func:`..compare.compare` can read
it like any results file).  Names are restricted to ``[A-Za-z0-9._-]`` (no path
separators, not starting with a dot) so a name cannot escape the store.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_DIR = Path(".streamtestbench") / "baselines"
_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")


class BaselineError(Exception):
    """A baseline that cannot be saved or loaded; the message says which and why."""


@dataclass(frozen=True)
class BaselineInfo:
    name: str
    path: Path
    scenario: str | None
    saved_bytes: int


class BaselineStore:
    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else DEFAULT_DIR

    def path(self, name: str) -> Path:
        if not isinstance(name, str) or not _NAME.match(name):
            raise BaselineError(
                f"invalid baseline name {name!r}: use letters, digits, '.', '_' or '-' (not starting with '.')"
            )
        return self.root / f"{name}.json"

    def save(self, name: str, results: Mapping[str, Any], *, overwrite: bool = True) -> Path:
        target = self.path(name)
        if target.exists() and not overwrite:
            raise BaselineError(f"baseline {name!r} already exists at {target}")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            data = json.dumps(results, indent=2, sort_keys=False, default=str)
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.root)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(data)
                    fh.write("\n")
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise BaselineError(f"cannot save baseline {name!r} to {target}: {exc.strerror or exc}") from exc
        return target

    def load(self, name: str) -> dict[str, Any]:
        target = self.path(name)
        if not target.is_file():
            available = self.names()
            hint = f"available: {', '.join(available)}" if available else f"no baselines saved in {self.root}"
            raise BaselineError(f"no baseline named {name!r} ({hint})")
        return load_results_file(target, what=f"baseline {name!r}")

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.stem for p in self.root.glob("*.json") if p.is_file() and _NAME.match(p.stem))

    def list(self) -> list[BaselineInfo]:
        out = []
        for name in self.names():
            p = self.root / f"{name}.json"
            scenario: str | None = None
            try:
                doc = json.loads(p.read_text(encoding="utf-8"))
                if isinstance(doc, dict) and isinstance(doc.get("scenarioName"), str):
                    scenario = doc["scenarioName"]
            except (OSError, ValueError):
                pass
            out.append(BaselineInfo(name, p, scenario, p.stat().st_size))
        return out

    def delete(self, name: str) -> None:
        target = self.path(name)
        if not target.is_file():
            raise BaselineError(f"no baseline named {name!r}")
        target.unlink()


def load_results_file(path: str | Path, *, what: str = "results file") -> dict[str, Any]:
    """Read a results JSON document, with clear errors for a missing or malformed file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise BaselineError(f"{what}: {p} does not exist") from exc
    except OSError as exc:
        raise BaselineError(f"{what}: cannot read {p}: {exc.strerror or exc}") from exc
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise BaselineError(f"{what}: {p} is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise BaselineError(f"{what}: {p} is not a results document (expected a JSON object)")
    return doc


def resolve_baseline(ref: str, store: BaselineStore | None = None) -> dict[str, Any]:
    """``--baseline REF``: a path to a results file if it exists or looks like one, else a stored name."""
    p = Path(ref)
    if p.is_file() or ref.endswith(".json") or os.sep in ref or "/" in ref:
        return load_results_file(p, what="baseline")
    return (store or BaselineStore()).load(ref)
