"""Load scenario files into models, turning every failure into a located ScenarioError."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from .data import DataFileError, resolve_data_file, scan_data_files
from .errors import Problem, ScenarioError
from .fields import allowed_keys, model_at, suggest
from .flow import STEP_KINDS, normalise_steps
from .interpolate import MissingVariable, declared_names, interpolate
from .model import Scenario
from .source import SourceMap, build_source_map, looks_like_json, parse_text

MAX_FILE_BYTES = 10 * 1024 * 1024


def load_scenario(path: str | Path, env: Mapping[str, str] | None = None) -> Scenario:
    """Read, interpolate and validate one scenario file (JSON or YAML)."""
    source = str(path)
    file = Path(path)
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            raise ScenarioError([Problem(source, "", f"file is larger than {MAX_FILE_BYTES} bytes")])
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Problem(source, "", "file not found",
                                     hint="check the path, or write examples with "
                                          "'streamtestbench generate --type all --output scenarios/'")]) \
            from None
    except IsADirectoryError:
        raise ScenarioError([Problem(source, "", "is a directory, not a scenario file")]) from None
    except UnicodeDecodeError:
        raise ScenarioError([Problem(source, "", "is not UTF-8 text")]) from None
    except OSError as error:
        raise ScenarioError([Problem(source, "", f"cannot read: {error.strerror}")]) from None
    return load_scenario_text(text, source, env, base_dir=file.parent)


def load_scenario_text(text: str, source: str = "<scenario>", env: Mapping[str, str] | None = None, *,
                       base_dir: Path | None = None) -> Scenario:
    """Validate scenario ``text``; ``source`` names it in errors, ``base_dir`` anchors its data files."""
    data = parse_text(text, source)
    if looks_like_json(source, text):
        _reject_duplicate_keys(text, source)
    source_map = build_source_map(text)
    if source_map.duplicates:
        path, line = source_map.duplicates[0]
        raise ScenarioError([Problem(source, format_path(path), f"key '{path[-1]}' appears twice in one object",
                                     line=line, hint="keep one of them")])
    return scenario_from_data(data, source, source_map, env, base_dir=base_dir)


def scenario_from_data(data: Any, source: str = "<scenario>", source_map: SourceMap | None = None,
                       env: Mapping[str, str] | None = None, *, base_dir: Path | None = None) -> Scenario:
    """Validate already-parsed data (from a file, flags or an API).

    ``base_dir`` is the scenario file's folder: relative ``data.file`` names resolve against it
    (the current directory when None).
    """
    source_map = source_map or SourceMap()
    if not isinstance(data, dict):
        raise ScenarioError([Problem(source, "", f"a scenario is a mapping of fields, got {_kind(data)}",
                                     line=1, hint='start the file with {"name": ..., "protocol": ...}')])
    environment = os.environ if env is None else env
    columns, unusable = scan_data_files(data, environment, base_dir)
    file_problems = [_data_file_problem(loc, error, source, source_map, base_dir) for loc, error in unusable]
    try:
        data = interpolate(data, environment, keep=declared_names(data) | columns)
        scenario = Scenario.model_validate(data)
    except MissingVariable as missing:
        if file_problems:
            raise ScenarioError(file_problems) from None  # the unset name is most likely one of its columns
        raise ScenarioError([Problem(
            source, format_path(missing.path), f"environment variable {missing.name} is not set",
            line=source_map.line_of(missing.path),
            hint=f"export {missing.name}=... or write ${{{missing.name}:-default}}",
        )]) from None
    except ValidationError as error:
        problems = [_problem(detail, source, source_map, data) for detail in error.errors()]
        raise ScenarioError(_dedupe(file_problems + problems)) from None
    except RecursionError:
        raise ScenarioError([Problem(source, "", "the scenario is nested too deeply",
                                     hint="a scenario needs a few levels of nesting, not hundreds")]) from None
    if file_problems:
        raise ScenarioError(file_problems)
    for spec in [scenario.data, *(group.data for group in scenario.groups)]:
        if spec is not None:
            spec.file = str(resolve_data_file(spec.file, base_dir))
    return scenario


def _data_file_problem(loc: tuple[str | int, ...], error: DataFileError, source: str, source_map: SourceMap,
                       base_dir: Path | None) -> Problem:
    folder = (base_dir if base_dir is not None else Path.cwd()).resolve()
    return Problem(source, format_path(loc), f"data file cannot be used: {error}", line=source_map.line_of(loc),
                   hint=f"a relative path starts at the scenario's folder ({folder}); the file needs a header "
                        "row (or \"fields\") and at least one row of values")


def normalise_data(data: Any) -> Any:
    """The input as the model sees it (Artillery shorthands expanded), to follow error locations."""
    if isinstance(data, dict):
        data = dict(data)
        if "flow" in data:
            data["flow"] = normalise_steps(data["flow"])
        if isinstance(data.get("groups"), list):
            data["groups"] = [normalise_data(group) for group in data["groups"]]
    return data


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _clean_loc(loc: tuple[str | int, ...], data: Any) -> tuple[str | int, ...]:
    """Keep the parts of pydantic's location that exist in the input; drop its union tags.

    ``flow.0.send.send.jsn`` -> ``flow.0.send.jsn``: a tag is a location part that the
    input does not hold at that point (the last part, a missing or unknown key, is kept).
    """
    cleaned: list[str | int] = []
    node = data
    for position, key in enumerate(loc):
        last = position == len(loc) - 1
        in_mapping = isinstance(node, dict) and key in node
        in_list = isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)
        if in_mapping or in_list:
            cleaned.append(key)
            node = node[key]
        elif last and not (key in STEP_KINDS and cleaned and cleaned[-1] == key):
            cleaned.append(key)
    return tuple(cleaned)


def _locate(source_map: SourceMap, loc: tuple[str | int, ...]) -> int | None:
    """The line of ``loc``; an Artillery shorthand step is found under its method key (``get``...)."""
    if "request" in loc:
        at = loc.index("request")
        candidates = [(*loc[:at], method, *loc[at + 1:]) for method in ("get", "post", "put", "patch", "delete",
                                                                      "head", "options")]
        best = max(candidates, key=source_map.depth_of)
        if source_map.depth_of(best) > source_map.depth_of(loc):
            return source_map.line_of(best)
    return source_map.line_of(loc)


def format_path(loc: tuple[str | int, ...]) -> str:
    text = ""
    for key in loc:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


def _problem(detail: ErrorDetails, source: str, source_map: SourceMap, data: Any) -> Problem:
    loc = _clean_loc(tuple(detail["loc"]), normalise_data(data))
    kind = detail["type"]
    value = detail.get("input")
    line = _locate(source_map, loc)
    if kind == "extra_forbidden":
        return _unknown_field(loc, source, line)
    if kind == "unknown_step":
        return _unknown_step(loc, value, source, line)
    if kind == "missing":
        return Problem(source, format_path(loc), "required field is missing", line=line,
                       hint=f"add \"{loc[-1]}\"" if loc else None)
    message = _message(detail)
    hint = None
    if kind in ("enum", "literal_error") and isinstance(value, str):
        expected = str((detail.get("ctx") or {}).get("expected", ""))
        choices = [choice.strip(" '") for choice in expected.replace(" or ", ",").split(",") if choice.strip()]
        close = suggest(value, choices)
        if close:
            hint = f"did you mean '{close}'?"
    return Problem(source, format_path(loc), message, line=line, hint=hint)


def _message(detail: ErrorDetails) -> str:
    message = detail["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    value = detail.get("input")
    message = _lower_first(message)
    if detail["type"].endswith(("_parsing", "_type")) and not isinstance(value, dict | list):
        message = f"{message}, got {json.dumps(value, default=str)[:60]}"
    elif detail["type"] in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        message = f"{message}, got {value!r}"
    return message


def _lower_first(message: str) -> str:
    """Pydantic capitalises sentences; ours continue a line. Names in capitals (BASIC_AUTH) stay."""
    if len(message) > 1 and message[0].isupper() and message[1].islower():
        return message[0].lower() + message[1:]
    return message


def _unknown_field(loc: tuple[str | int, ...], source: str, line: int | None) -> Problem:
    key = str(loc[-1]) if loc else "?"
    model = model_at(Scenario, loc[:-1])
    allowed = allowed_keys(model) if model is not None else []
    close = suggest(key, allowed) if allowed else None
    hint = f"did you mean '{close}'?" if close else None
    message = f"unknown field '{key}'"
    if allowed:
        message += f"; allowed: {', '.join(allowed)}"
    return Problem(source, format_path(loc), message, line=line, hint=hint)


def _unknown_step(loc: tuple[str | int, ...], value: Any, source: str, line: int | None) -> Problem:
    kinds = [*list(STEP_KINDS), "get", "post", "put", "patch", "delete"]
    if not isinstance(value, dict):
        return Problem(source, format_path(loc), f"a step is a mapping with one action key, got {_kind(value)}",
                       line=line, hint=f"for example {{\"think\": 5}}; steps: {', '.join(STEP_KINDS)}")
    keys = list(value)
    hint = None
    for key in keys:
        close = suggest(str(key), kinds)
        if close and close != key:
            hint = f"did you mean '{close}'?"
            break
    if not keys:
        message = "empty step"
    elif len([k for k in keys if k in STEP_KINDS]) > 1:
        message = f"a step has exactly one action key, got {', '.join(map(str, keys))}"
    else:
        message = f"unknown step '{', '.join(map(str, keys))}'"
    return Problem(source, format_path(loc), f"{message}; steps: {', '.join(STEP_KINDS)}", line=line, hint=hint)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    """One problem once, in file order; a "missing X" is dropped when a misspelt X is named."""
    suggested = set()
    for problem in problems:
        if problem.hint and problem.hint.startswith("did you mean"):
            parent = problem.path.rsplit(".", 1)[0] + "." if "." in problem.path else ""
            suggested.add(parent + problem.hint.split("'")[1])
    seen: set[str] = set()
    unique = []
    for problem in problems:
        redundant = problem.message == "required field is missing" and problem.path in suggested
        if str(problem) not in seen and not redundant:
            seen.add(str(problem))
            unique.append(problem)
    return sorted(unique, key=lambda problem: problem.line or 0)


def _reject_duplicate_keys(text: str, source: str) -> None:
    """JSON parsers keep the last of two equal keys in silence; a scenario says it once."""
    source_map = build_source_map(text)

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        for key in keys:
            if keys.count(key) > 1:
                raise ScenarioError([Problem(source, key, f"key '{key}' appears twice in one object",
                                             line=_line_of_second(text, key) or source_map.line_of((key,)),
                                             hint="keep one of them")])
        return dict(pairs)

    json.loads(text, object_pairs_hook=hook)


def _line_of_second(text: str, key: str) -> int | None:
    needle = json.dumps(key) + ":"
    compact = [index for index, line in enumerate(text.splitlines(), 1) if needle in line.replace('" :', '":')]
    return compact[1] if len(compact) > 1 else None
