"""Parse scenario text (JSON or YAML) and find the line of any field path in it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import Problem, ScenarioError


class _StrictBoolLoader(yaml.SafeLoader):
    """YAML 1.1 reads ``on``/``yes``/``no`` as booleans; scenario files mean text.

    Aliases (``*name``) are refused: a few of them nested expand a tiny file into millions
    of nodes, and a scenario has no need for them.
    """

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not supported in scenario files",
                                              event.start_mark)
        node: yaml.Node | None = super().compose_node(parent, index)  # type: ignore[arg-type]
        return node


_StrictBoolLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictBoolLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass
class SourceMap:
    """Maps a field path (tuple of keys and indexes) to a 1-based line number."""

    lines: dict[tuple[str | int, ...], int] = field(default_factory=dict)
    duplicates: list[tuple[tuple[str | int, ...], int]] = field(default_factory=list)

    def depth_of(self, path: tuple[str | int, ...]) -> int:
        """How many leading parts of ``path`` the source holds."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return end
        return 0

    def line_of(self, path: tuple[str | int, ...]) -> int | None:
        """The line of ``path``, or of its nearest located ancestor."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


def _map_node(node: yaml.Node, path: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int],
              duplicates: list[tuple[tuple[str | int, ...], int]]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            if key in seen:
                duplicates.append(((*path, key), key_node.start_mark.line + 1))
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _map_node(value_node, (*path, key), lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _map_node(item, (*path, index), lines, duplicates)


def build_source_map(text: str) -> SourceMap:
    """Locate every key and item; JSON is (nearly) YAML, so one composer serves both."""
    lines: dict[tuple[str | int, ...], int] = {}
    duplicates: list[tuple[tuple[str | int, ...], int]] = []
    try:
        node = yaml.compose(text.replace("\t", " "), Loader=_StrictBoolLoader)
        if node is not None:
            _map_node(node, (), lines, duplicates)
    except (yaml.YAMLError, RecursionError):
        return SourceMap()
    return SourceMap(lines, duplicates)


def looks_like_json(name: str, text: str) -> bool:
    if name.endswith((".yaml", ".yml")):
        return False
    return name.endswith(".json") or text.lstrip().startswith(("{", "["))


def parse_text(text: str, source: str) -> Any:
    """Parse JSON (strict) or YAML; syntax errors name the line and column."""
    try:
        return _parse(text, source)
    except (RecursionError, ValueError) as error:
        if isinstance(error, ScenarioError):
            raise
        raise ScenarioError([Problem(source, "", f"cannot parse: {type(error).__name__}: {str(error)[:120]}",
                                     hint="nesting that deep or numbers that long are not a scenario")]) from None


def _parse(text: str, source: str) -> Any:
    if looks_like_json(source, text):
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise ScenarioError([Problem(
                source, "", f"invalid JSON: {error.msg} (column {error.colno})", line=error.lineno,
                hint="check for a missing comma, an unquoted key or a trailing comma before } or ]",
            )]) from None
    try:
        return yaml.load(text, Loader=_StrictBoolLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        raise ScenarioError([Problem(
            source, "", f"invalid YAML: {problem}", line=mark.line + 1 if mark else None,
            hint="check indentation and that every key is followed by ': '",
        )]) from None
