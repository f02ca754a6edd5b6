"""Shared pydantic configuration for scenario models.

Scenario files use the seeds' spelling (mostly camelCase, with ``duration_seconds``
as the seed writes it). Python code uses snake_case attributes; aliases carry the
file spelling, and either spelling is accepted on input so seed 002's snake_case
configs load too.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class ScenarioModel(BaseModel):
    """Base for every scenario model: unknown keys are errors, camelCase on disk."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        use_enum_values=False,
    )

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """Lax mode reads ``true`` as 1; a count or a rate written as true/false is a mistake."""
        if isinstance(value, bool) and info.field_name is not None:
            field = cls.model_fields.get(info.field_name)
            if field is not None and _wants_number_not_bool(field.annotation):
                raise ValueError(f"expected a number, got {str(value).lower()}")
        return value

    def to_data(self) -> dict[str, Any]:
        """The model as plain JSON-ready data in the file spelling, defaults left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_unset=True)


def _wants_number_not_bool(annotation: Any) -> bool:
    found: set[Any] = set()

    def walk(tp: Any) -> None:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            walk(typing.get_args(tp)[0])
        elif origin in (typing.Union, types.UnionType):
            for arg in typing.get_args(tp):
                walk(arg)
        else:
            found.add(tp)

    walk(annotation)
    literal_ints = any(typing.get_origin(tp) is typing.Literal
                       and all(isinstance(arg, int) and not isinstance(arg, bool) for arg in typing.get_args(tp))
                       for tp in found)
    return (bool(found & {int, float}) or literal_ints) and bool not in found and typing.Any not in found


def parse_duration(value: Any) -> Any:
    """Accept seconds as a number or k6-style strings such as ``"90s"``, ``"1m30s"``, ``"500ms"``."""
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if not text:
            return value
        try:
            return float(text)
        except ValueError:
            pass
        total = 0.0
        position = 0
        for match in _DURATION_PART.finditer(text):
            if match.start() != position:
                return value
            total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            position = match.end()
        if position != len(text):
            return value
        return total
    return value


Seconds = Annotated[float, BeforeValidator(parse_duration)]
"""A duration in seconds, written as a number or as ``"30s"``, ``"2m"``, ``"500ms"``."""
