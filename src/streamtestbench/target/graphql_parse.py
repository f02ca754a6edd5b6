"""A small hand-written GraphQL parser for the subset the target executes.

Supported: query / mutation / subscription operations (named or anonymous, and the ``{ ... }``
shorthand), variable definitions with default values, nested selections, aliases, arguments
with variables and literals (int, float, string, block string, boolean, null, enum, list,
object), named fragments with spreads, inline fragments, and ``@include`` / ``@skip``.
Type-system definitions are not. Every node keeps the line and column of its first token, so
errors can carry GraphQL ``locations``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Directive",
    "Document",
    "EnumValue",
    "Field",
    "FragmentDef",
    "FragmentSpread",
    "InlineFragment",
    "Operation",
    "Selection",
    "SyntaxErrorGQL",
    "VarDef",
    "Variable",
    "parse",
]


class SyntaxErrorGQL(ValueError):
    """The document is not valid GraphQL (or uses syntax outside the supported subset)."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"Syntax Error: {message}")
        self.line = line
        self.column = column


@dataclass(frozen=True, slots=True)
class Variable:
    name: str


@dataclass(frozen=True, slots=True)
class EnumValue:
    name: str


@dataclass(slots=True)
class Directive:
    name: str
    args: dict[str, Any]


@dataclass(slots=True)
class Field:
    name: str
    alias: str | None
    args: dict[str, Any]
    selections: list[Selection]
    directives: list[Directive]
    line: int
    column: int

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass(slots=True)
class FragmentSpread:
    name: str
    directives: list[Directive]
    line: int
    column: int


@dataclass(slots=True)
class InlineFragment:
    type_condition: str | None
    selections: list[Selection]
    directives: list[Directive]
    line: int
    column: int


Selection = Field | FragmentSpread | InlineFragment


@dataclass(slots=True)
class VarDef:
    name: str
    type: str  # as written, e.g. "Int", "CreatePostInput!", "[ID!]"
    default: Any
    has_default: bool
    line: int
    column: int


@dataclass(slots=True)
class Operation:
    kind: str  # "query" | "mutation" | "subscription"
    name: str | None
    variables: list[VarDef]
    selections: list[Selection]
    line: int
    column: int


@dataclass(slots=True)
class FragmentDef:
    name: str
    type_condition: str
    selections: list[Selection]
    line: int
    column: int


@dataclass(slots=True)
class Document:
    operations: list[Operation] = field(default_factory=list)
    fragments: dict[str, FragmentDef] = field(default_factory=dict)


# -- lexer ---------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ignored>[\s,\ufeff]+|\#[^\n\r]*)
  | (?P<block>\"\"\"(?:\\\"\"\"|[^"]|"(?!""))*\"\"\")
  | (?P<string>"(?:\\["\\/bfnrt]|\\u[0-9A-Fa-f]{4}|[^"\\\n\r])*")
  | (?P<number>-?(?:0|[1-9][0-9]*)(?P<frac>\.[0-9]+)?(?P<exp>[eE][+-]?[0-9]+)?(?![_A-Za-z0-9.]))
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
  | (?P<spread>\.\.\.)
  | (?P<punct>[!$&()\:=@\[\]{|}])
    """,
    re.VERBOSE,
)
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "/": "/"}
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|.)")


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # "name" | "string" | "int" | "float" | "punct" | "eof"
    value: Any
    line: int
    column: int


def _unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        return chr(int(code[1:], 16)) if code[0] == "u" else _ESCAPES[code]

    return _ESCAPE.sub(one, text)


def _block_value(raw: str) -> str:
    """Block string semantics: common indentation and blank first/last lines removed."""
    lines = raw.replace('\\"""', '"""').splitlines()
    indents = [len(line) - len(line.lstrip(" \t")) for line in lines[1:] if line.strip()]
    common = min(indents) if indents else 0
    lines = lines[:1] + [line[common:] for line in lines[1:]]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def _tokenize(source: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    line = 1
    line_start = 0
    end = len(source)
    while pos < end:
        match = _TOKEN.match(source, pos)
        if match is None:
            raise SyntaxErrorGQL(f"Unexpected character {source[pos]!r}.", line, pos - line_start + 1)
        kind = match.lastgroup
        text = match.group()
        column = pos - line_start + 1
        if kind == "block":
            tokens.append(_Tok("string", _block_value(text[3:-3]), line, column))
        elif kind == "string":
            tokens.append(_Tok("string", _unescape(text[1:-1]), line, column))
        elif kind == "number":
            is_float = match.group("frac") is not None or match.group("exp") is not None
            tokens.append(_Tok("float" if is_float else "int", float(text) if is_float else int(text), line, column))
        elif kind == "name":
            tokens.append(_Tok("name", text, line, column))
        elif kind in ("spread", "punct"):
            tokens.append(_Tok("punct", text, line, column))
        newlines = text.count("\n") + text.count("\r") - text.count("\r\n")
        if newlines:
            line += newlines
            line_start = pos + max(text.rfind("\n"), text.rfind("\r")) + 1
        pos = match.end()
    tokens.append(_Tok("eof", None, line, pos - line_start + 1))
    return tokens


# -- parser --------------------------------------------------------------------------------------


def _describe(tok: _Tok) -> str:
    if tok.kind == "eof":
        return "<EOF>"
    if tok.kind == "string":
        return "String"
    if tok.kind == "punct":
        return f'"{tok.value}"'
    return f'{tok.kind.capitalize() if tok.kind != "name" else "Name"} "{tok.value}"'


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.i = 0

    @property
    def tok(self) -> _Tok:
        return self.tokens[self.i]

    def fail(self, message: str, tok: _Tok | None = None) -> SyntaxErrorGQL:
        at = tok or self.tok
        return SyntaxErrorGQL(message, at.line, at.column)

    def peek(self, value: str) -> bool:
        tok = self.tok
        return tok.kind == "punct" and tok.value == value

    def skip(self, value: str) -> bool:
        if self.peek(value):
            self.i += 1
            return True
        return False

    def expect(self, value: str) -> _Tok:
        tok = self.tok
        if not self.peek(value):
            raise self.fail(f'Expected "{value}", found {_describe(tok)}.')
        self.i += 1
        return tok

    def name(self) -> str:
        tok = self.tok
        if tok.kind != "name":
            raise self.fail(f"Expected Name, found {_describe(tok)}.")
        self.i += 1
        return str(tok.value)

    # document
    def document(self) -> Document:
        doc = Document()
        if self.tok.kind == "eof":
            raise self.fail("Unexpected <EOF>.")
        while self.tok.kind != "eof":
            tok = self.tok
            if self.peek("{"):
                doc.operations.append(Operation("query", None, [], self.selection_set(), tok.line, tok.column))
            elif tok.kind == "name" and tok.value in ("query", "mutation", "subscription"):
                doc.operations.append(self.operation())
            elif tok.kind == "name" and tok.value == "fragment":
                fragment = self.fragment()
                if fragment.name in doc.fragments:
                    raise self.fail(f'There can be only one fragment named "{fragment.name}".', tok)
                doc.fragments[fragment.name] = fragment
            else:
                raise self.fail(f"Unexpected {_describe(tok)}.")
        return doc

    def operation(self) -> Operation:
        tok = self.tok
        kind = self.name()
        name = self.name() if self.tok.kind == "name" else None
        variables = self.variable_defs() if self.peek("(") else []
        self.directives()
        return Operation(kind, name, variables, self.selection_set(), tok.line, tok.column)

    def fragment(self) -> FragmentDef:
        tok = self.tok
        self.i += 1  # "fragment"
        name = self.name()
        if name == "on":
            raise self.fail('Unexpected Name "on".')
        on = self.tok
        if self.name() != "on":
            raise self.fail('Expected "on".', on)
        type_condition = self.name()
        self.directives()
        return FragmentDef(name, type_condition, self.selection_set(), tok.line, tok.column)

    def variable_defs(self) -> list[VarDef]:
        self.expect("(")
        defs: list[VarDef] = []
        while not self.skip(")"):
            tok = self.expect("$")
            name = self.name()
            self.expect(":")
            type_text = self.type_ref()
            has_default = self.skip("=")
            default = self.value(const=True) if has_default else None
            self.directives()
            defs.append(VarDef(name, type_text, default, has_default, tok.line, tok.column))
        if not defs:
            raise self.fail("Expected a variable definition.")
        return defs

    def type_ref(self) -> str:
        if self.skip("["):
            inner = self.type_ref()
            self.expect("]")
            text = f"[{inner}]"
        else:
            text = self.name()
        return text + "!" if self.skip("!") else text

    def directives(self) -> list[Directive]:
        found: list[Directive] = []
        while self.skip("@"):
            name = self.name()
            found.append(Directive(name, self.arguments() if self.peek("(") else {}))
        return found

    def selection_set(self) -> list[Selection]:
        self.expect("{")
        selections: list[Selection] = []
        while not self.skip("}"):
            selections.append(self.selection())
        if not selections:
            raise self.fail("Expected Name, found \"}\".", self.tokens[self.i - 1])
        return selections

    def selection(self) -> Selection:
        tok = self.tok
        if self.skip("..."):
            if self.tok.kind == "name" and self.tok.value != "on":
                return FragmentSpread(self.name(), self.directives(), tok.line, tok.column)
            type_condition = None
            if self.tok.kind == "name":
                self.i += 1  # "on"
                type_condition = self.name()
            directives = self.directives()
            return InlineFragment(type_condition, self.selection_set(), directives, tok.line, tok.column)
        name = self.name()
        alias = None
        if self.skip(":"):
            alias, name = name, self.name()
        args = self.arguments() if self.peek("(") else {}
        directives = self.directives()
        selections = self.selection_set() if self.peek("{") else []
        return Field(name, alias, args, selections, directives, tok.line, tok.column)

    def arguments(self) -> dict[str, Any]:
        self.expect("(")
        args: dict[str, Any] = {}
        while not self.skip(")"):
            tok = self.tok
            name = self.name()
            self.expect(":")
            if name in args:
                raise self.fail(f'There can be only one argument named "{name}".', tok)
            args[name] = self.value(const=False)
        if not args:
            raise self.fail("Expected Name, found \")\".", self.tokens[self.i - 1])
        return args

    def value(self, *, const: bool) -> Any:
        tok = self.tok
        if tok.kind == "punct":
            if tok.value == "$" and not const:
                self.i += 1
                return Variable(self.name())
            if tok.value == "[":
                self.i += 1
                items = []
                while not self.skip("]"):
                    items.append(self.value(const=const))
                return items
            if tok.value == "{":
                self.i += 1
                obj: dict[str, Any] = {}
                while not self.skip("}"):
                    key = self.name()
                    self.expect(":")
                    obj[key] = self.value(const=const)
                return obj
            raise self.fail(f"Unexpected {_describe(tok)}.")
        self.i += 1
        if tok.kind in ("int", "float", "string"):
            return tok.value
        if tok.kind == "name":
            if tok.value == "true":
                return True
            if tok.value == "false":
                return False
            if tok.value == "null":
                return None
            return EnumValue(str(tok.value))
        self.i -= 1
        raise self.fail(f"Unexpected {_describe(tok)}.")


def parse(source: str) -> Document:
    """Parse a GraphQL executable document; raises :class:`SyntaxErrorGQL` with a location."""
    return _Parser(source).document()
