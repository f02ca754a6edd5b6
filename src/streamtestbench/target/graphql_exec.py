"""Validate and execute a parsed GraphQL operation against a small object schema.

The schema is plain data (:class:`Schema`: object types of :class:`FieldDef`, input types, the
built-in scalars). :func:`prepare` picks the operation and validates it statically (unknown
fields and arguments, missing sub-selections, fragments, undefined variables); its result is
cacheable per (query, operationName). :func:`execute` coerces the variables and runs the
resolvers, collecting field errors with ``path`` and propagating null per the spec. Errors are
GraphQL error objects: ``{"message", "locations": [{"line", "column"}], "path"?, "extensions"?}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from .graphql_parse import (
    Document,
    EnumValue,
    Field,
    FragmentSpread,
    InlineFragment,
    Operation,
    Selection,
    Variable,
)

__all__ = [
    "FieldDef",
    "FieldError",
    "GraphQLRequestError",
    "Prepared",
    "Schema",
    "execute",
    "prepare",
    "subscription_source",
    "unwrap",
]

Resolver = Callable[[Any, dict[str, Any], Any], Any]
SCALARS = frozenset({"ID", "String", "Int", "Float", "Boolean"})
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


class FieldError(Exception):
    """Raised by a resolver: the field becomes null and the message lands in ``errors``."""

    def __init__(self, message: str, extensions: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions


class GraphQLRequestError(Exception):
    """The request cannot run at all (validation, variables): the response has ``errors`` only."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(str(e["message"]) for e in errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class FieldDef:
    type: str  # GraphQL type text, e.g. "[Post!]!"
    resolve: Resolver | None = None  # None: read the parent mapping's key of the same name
    args: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Schema:
    types: Mapping[str, Mapping[str, FieldDef]]
    inputs: Mapping[str, Mapping[str, str]]
    roots: Mapping[str, str]  # operation kind -> object type name


@dataclass(frozen=True, slots=True)
class Prepared:
    """A validated operation of a document, ready to run with any variables."""

    document: Document
    operation: Operation

    @property
    def kind(self) -> str:
        return self.operation.kind


def unwrap(type_text: str) -> str:
    """The named type inside ``[X!]!`` and friends."""
    return type_text.strip("[]!")


def _error(message: str, *nodes: Any, path: list[str | int] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message}
    if nodes:
        error["locations"] = [{"line": n.line, "column": n.column} for n in nodes]
    if path is not None:
        error["path"] = path
    return error


# -- validation ----------------------------------------------------------------------------------


def _select_operation(document: Document, operation_name: str | None) -> Operation:
    ops = document.operations
    if operation_name:
        for op in ops:
            if op.name == operation_name:
                return op
        raise GraphQLRequestError([_error(f'Unknown operation named "{operation_name}".')])
    if len(ops) != 1:
        raise GraphQLRequestError([_error("Must provide operation name if query contains multiple operations.")])
    return ops[0]


class _Validator:
    def __init__(self, schema: Schema, document: Document, operation: Operation) -> None:
        self.schema = schema
        self.document = document
        self.operation = operation
        self.errors: list[dict[str, Any]] = []
        self.used_vars: dict[str, Any] = {}
        self.defined = {v.name for v in operation.variables}
        self._visiting: set[str] = set()

    def run(self) -> None:
        op = self.operation
        for var in op.variables:
            named = unwrap(var.type)
            if named not in SCALARS and named not in self.schema.inputs:
                self.errors.append(_error(f'Unknown type "{named}".', var))
        root = self.schema.roots.get(op.kind)
        if root is None:
            self.errors.append(_error(f"Schema is not configured to execute {op.kind} operation.", op))
            return
        if op.kind == "subscription" and sum(isinstance(s, Field) for s in op.selections) != 1:
            name = f'Subscription "{op.name}"' if op.name else "Anonymous Subscription"
            self.errors.append(_error(f"{name} must select only one top level field.", op))
        self.selections(root, op.selections)
        for name, node in self.used_vars.items():
            if name not in self.defined:
                where = f' by operation "{op.name}"' if op.name else ""
                self.errors.append(_error(f'Variable "${name}" is not defined{where}.', node, op))

    def selections(self, type_name: str, selections: list[Selection]) -> None:
        for selection in selections:
            if isinstance(selection, Field):
                self.field(type_name, selection)
            elif isinstance(selection, FragmentSpread):
                fragment = self.document.fragments.get(selection.name)
                if fragment is None:
                    self.errors.append(_error(f'Unknown fragment "{selection.name}".', selection))
                elif selection.name in self._visiting:
                    self.errors.append(_error(f'Cannot spread fragment "{selection.name}" within itself.', selection))
                elif self.condition(type_name, fragment.type_condition, selection):
                    self._visiting.add(selection.name)
                    self.selections(type_name, fragment.selections)
                    self._visiting.discard(selection.name)
                self.args_vars(d.args for d in selection.directives)
            else:
                if selection.type_condition is None or self.condition(type_name, selection.type_condition, selection):
                    self.selections(type_name, selection.selections)
                self.args_vars(d.args for d in selection.directives)

    def condition(self, type_name: str, condition: str, node: Any) -> bool:
        if condition not in self.schema.types:
            self.errors.append(_error(f'Unknown type "{condition}".', node))
            return False
        if condition != type_name:
            self.errors.append(_error(
                f'Fragment cannot be spread here as objects of type "{type_name}" can never be of type "{condition}".',
                node,
            ))
            return False
        return True

    def args_vars(self, arg_maps: Any) -> None:
        for args in arg_maps:
            for value in args.values():
                self.collect_vars(value, None)

    def collect_vars(self, value: Any, node: Any) -> None:
        if isinstance(value, Variable):
            self.used_vars.setdefault(value.name, node or self.operation)
        elif isinstance(value, list):
            for item in value:
                self.collect_vars(item, node)
        elif isinstance(value, dict):
            for item in value.values():
                self.collect_vars(item, node)

    def field(self, type_name: str, node: Field) -> None:
        self.args_vars(d.args for d in node.directives)
        if node.name == "__typename":
            if node.selections:
                self.errors.append(_error('Field "__typename" must not have a selection since type "String!" '
                                          "has no subfields.", node))
            return
        definition = self.schema.types[type_name].get(node.name)
        if definition is None:
            self.errors.append(_error(f'Cannot query field "{node.name}" on type "{type_name}".', node))
            return
        for arg, value in node.args.items():
            if arg not in definition.args:
                self.errors.append(_error(f'Unknown argument "{arg}" on field "{type_name}.{node.name}".', node))
            self.collect_vars(value, node)
        for arg, arg_type in definition.args.items():
            if arg_type.endswith("!") and arg not in node.args and arg not in definition.defaults:
                self.errors.append(_error(
                    f'Field "{node.name}" argument "{arg}" of type "{arg_type}" is required, but it was not provided.',
                    node,
                ))
        named = unwrap(definition.type)
        if named in SCALARS:
            if node.selections:
                self.errors.append(_error(
                    f'Field "{node.name}" must not have a selection since type "{definition.type}" has no subfields.',
                    node,
                ))
        elif not node.selections:
            self.errors.append(_error(
                f'Field "{node.name}" of type "{definition.type}" must have a selection of subfields. '
                f'Did you mean "{node.name} {{ ... }}"?',
                node,
            ))
        else:
            self.selections(named, node.selections)


def prepare(schema: Schema, document: Document, operation_name: str | None) -> Prepared:
    """Pick and validate the operation; raises :class:`GraphQLRequestError` listing every problem."""
    operation = _select_operation(document, operation_name)
    validator = _Validator(schema, document, operation)
    validator.run()
    if validator.errors:
        raise GraphQLRequestError(validator.errors)
    return Prepared(document, operation)


# -- input coercion ------------------------------------------------------------------------------


class _CoerceError(ValueError):
    pass


def _show(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return repr(value)


def coerce_input(schema: Schema, value: Any, type_text: str) -> Any:
    """A JSON/literal value checked and converted to ``type_text``; raises _CoerceError."""
    if type_text.endswith("!"):
        inner = type_text[:-1]
        if value is None:
            raise _CoerceError(f'Expected non-nullable type "{type_text}" not to be null.')
        return coerce_input(schema, value, inner)
    if value is None:
        return None
    if type_text.startswith("["):
        inner = type_text[1:-1]
        items = value if isinstance(value, list) else [value]
        return [coerce_input(schema, item, inner) for item in items]
    if isinstance(value, EnumValue):
        value = value.name
    if type_text == "Int":
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise _CoerceError(f"Int cannot represent non-integer value: {_show(value)}")
        if not _INT_MIN <= value <= _INT_MAX:
            raise _CoerceError(f"Int cannot represent non 32-bit signed integer value: {_show(value)}")
        return int(value)
    if type_text == "Float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _CoerceError(f"Float cannot represent non numeric value: {_show(value)}")
        return float(value)
    if type_text == "String":
        if not isinstance(value, str):
            raise _CoerceError(f"String cannot represent a non string value: {_show(value)}")
        return value
    if type_text == "Boolean":
        if not isinstance(value, bool):
            raise _CoerceError(f"Boolean cannot represent a non boolean value: {_show(value)}")
        return value
    if type_text == "ID":
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise _CoerceError(f"ID cannot represent value: {_show(value)}")
        return str(value)
    fields = schema.inputs.get(type_text)
    if fields is None:
        raise _CoerceError(f'Unknown type "{type_text}".')
    if not isinstance(value, dict):
        raise _CoerceError(f'Expected type "{type_text}" to be an object.')
    result: dict[str, Any] = {}
    for key in value:
        if key not in fields:
            raise _CoerceError(f'Field "{key}" is not defined by type "{type_text}".')
    for key, field_type in fields.items():
        if key in value:
            try:
                result[key] = coerce_input(schema, value[key], field_type)
            except _CoerceError as exc:
                raise _CoerceError(f'At "{key}": {exc}') from None
        elif field_type.endswith("!"):
            raise _CoerceError(f'Field "{key}" of required type "{field_type}" was not provided.')
    return result


def _coerce_variables(schema: Schema, operation: Operation, given: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for var in operation.variables:
        if var.name in given:
            try:
                values[var.name] = coerce_input(schema, given[var.name], var.type)
            except _CoerceError as exc:
                errors.append(_error(f'Variable "${var.name}" got invalid value {_show(given[var.name])}; {exc}', var))
        elif var.has_default:
            values[var.name] = coerce_input(schema, var.default, var.type)
        elif var.type.endswith("!"):
            errors.append(_error(f'Variable "${var.name}" of required type "{var.type}" was not provided.', var))
    if errors:
        raise GraphQLRequestError(errors)
    return values


def _substitute(value: Any, variables: Mapping[str, Any]) -> Any:
    if isinstance(value, Variable):
        return variables.get(value.name)
    if isinstance(value, list):
        return [_substitute(item, variables) for item in value]
    if isinstance(value, dict):
        return {k: _substitute(v, variables) for k, v in value.items() if not _absent(v, variables)}
    return value


def _absent(value: Any, variables: Mapping[str, Any]) -> bool:
    return isinstance(value, Variable) and value.name not in variables


# -- execution -----------------------------------------------------------------------------------


def _arguments(schema: Schema, definition: FieldDef, node: Field, variables: Mapping[str, Any]) -> dict[str, Any]:
    args = dict(definition.defaults)
    for name, raw in node.args.items():
        if _absent(raw, variables):
            continue
        try:
            args[name] = coerce_input(schema, _substitute(raw, variables), definition.args[name])
        except _CoerceError as exc:
            raise _CoerceError(f'Argument "{name}" has invalid value: {exc}') from None
    return args


class _Null(Exception):
    """A non-null field came out null: its parent becomes null instead (spec 6.4.4)."""


@dataclass(slots=True)
class _Run:
    schema: Schema
    document: Document
    variables: dict[str, Any]
    context: Any
    errors: list[dict[str, Any]] = field(default_factory=list)

    def included(self, directives: list[Any]) -> bool:
        for directive in directives:
            if directive.name in ("include", "skip"):
                flag = bool(_substitute(directive.args.get("if"), self.variables))
                if flag != (directive.name == "include"):
                    return False
        return True

    def collect(self, selections: list[Selection], out: dict[str, list[Field]]) -> dict[str, list[Field]]:
        for selection in selections:
            if not self.included(selection.directives):
                continue
            if isinstance(selection, Field):
                out.setdefault(selection.key, []).append(selection)
            elif isinstance(selection, InlineFragment):
                self.collect(selection.selections, out)
            else:
                self.collect(self.document.fragments[selection.name].selections, out)
        return out

    def object(self, type_name: str, parent: Any, selections: list[Selection], path: list[str | int]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        fields = self.schema.types[type_name]
        for key, nodes in self.collect(selections, {}).items():
            node = nodes[0]
            if node.name == "__typename":
                result[key] = type_name
                continue
            definition = fields[node.name]
            field_path = [*path, key]
            try:
                value = self.resolve(type_name, definition, node, parent)
            except FieldError as exc:
                error = _error(exc.message, node, path=field_path)
                if exc.extensions:
                    error["extensions"] = exc.extensions
                self.errors.append(error)
                if definition.type.endswith("!"):
                    raise _Null from None
                result[key] = None
                continue
            sub = [s for n in nodes for s in n.selections]
            try:
                result[key] = self.complete(definition.type, value, sub, field_path, f"{type_name}.{node.name}", node)
            except _Null:
                if definition.type.endswith("!"):
                    raise
                result[key] = None
        return result

    def resolve(self, type_name: str, definition: FieldDef, node: Field, parent: Any) -> Any:
        if definition.resolve is None:
            return parent.get(node.name) if isinstance(parent, Mapping) else None
        try:
            args = _arguments(self.schema, definition, node, self.variables)
        except _CoerceError as exc:
            raise FieldError(str(exc)) from None
        return definition.resolve(parent, args, self.context)

    def complete(
        self, type_text: str, value: Any, selections: list[Selection], path: list[str | int], where: str, node: Field
    ) -> Any:
        if type_text.endswith("!"):
            if value is None:
                self.errors.append(_error(f"Cannot return null for non-nullable field {where}.", node, path=path))
                raise _Null
            type_text = type_text[:-1]
        if value is None:
            return None
        if type_text.startswith("["):
            inner = type_text[1:-1]
            items: list[Any] = []
            for i, item in enumerate(value):
                try:
                    items.append(self.complete(inner, item, selections, [*path, i], where, node))
                except _Null:
                    if inner.endswith("!"):
                        raise
                    items.append(None)
            return items
        if type_text in SCALARS:
            return _serialize(type_text, value)
        return self.object(type_text, value, selections, path)


def _serialize(type_name: str, value: Any) -> Any:
    if type_name == "ID":
        return str(value)
    if type_name == "String":
        return value if isinstance(value, str) else str(value)
    if type_name == "Int":
        return int(value)
    if type_name == "Float":
        return float(value)
    return bool(value)


def execute(
    schema: Schema,
    prepared: Prepared,
    variables: Mapping[str, Any] | None,
    context: Any,
    root_value: Any = None,
) -> dict[str, Any]:
    """The response document: ``{"data": ...}`` plus ``"errors"`` when any field failed.

    Raises :class:`GraphQLRequestError` when the variables do not fit the operation."""
    operation = prepared.operation
    values = _coerce_variables(schema, operation, variables or {})
    run = _Run(schema, prepared.document, values, context)
    root = schema.roots[operation.kind]
    try:
        data: dict[str, Any] | None = run.object(root, root_value, operation.selections, [])
    except _Null:
        data = None
    result: dict[str, Any] = {"data": data}
    if run.errors:
        result["errors"] = run.errors
    return result


def subscription_source(
    schema: Schema, prepared: Prepared, variables: Mapping[str, Any] | None
) -> tuple[str, dict[str, Any]]:
    """The subscription's one root field and its coerced arguments: what event stream to open."""
    operation = prepared.operation
    values = _coerce_variables(schema, operation, variables or {})
    collected = _Run(schema, prepared.document, values, None).collect(operation.selections, {})
    if not collected:
        raise GraphQLRequestError([_error("The subscription selects no field.", operation)])
    node = next(iter(collected.values()))[0]
    definition = schema.types[schema.roots[operation.kind]][node.name]
    try:
        return node.name, _arguments(schema, definition, node, values)
    except _CoerceError as exc:
        raise GraphQLRequestError([_error(str(exc), node)]) from None
