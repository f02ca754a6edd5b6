"""Which keys a scenario model allows at a given path, for "did you mean" suggestions."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, Union

from pydantic import BaseModel

from .flow import STEP_KINDS


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete candidate types behind Annotated, Optional and unions."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        result: list[Any] = []
        for arg in typing.get_args(annotation):
            result.extend(_unwrap(arg))
        return result
    return [annotation]


def _field_type(model: type[BaseModel], key: str) -> Any | None:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info.annotation
    return None


def _step_through(candidates: list[Any], key: str | int) -> list[Any]:
    found: list[Any] = []
    for candidate in candidates:
        origin = typing.get_origin(candidate)
        if isinstance(key, int) and origin is list:
            found.extend(_unwrap(typing.get_args(candidate)[0]))
        elif isinstance(key, str) and origin is dict:
            found.extend(_unwrap(typing.get_args(candidate)[1]))
        elif isinstance(candidate, type) and issubclass(candidate, BaseModel):
            annotation = _field_type(candidate, key) if isinstance(key, str) else None
            if annotation is not None:
                found.extend(_unwrap(annotation))
    return found


def model_at(root: type[BaseModel], path: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``path`` (tags of step unions skipped)."""
    candidates: list[Any] = [root]
    for key in path:
        step_models = [c for c in candidates if isinstance(c, type) and c in STEP_KINDS.values()]
        if isinstance(key, str) and key in STEP_KINDS and step_models and len(candidates) > 1:
            candidates = _step_through([STEP_KINDS[key]], key)
            continue
        candidates = _step_through(candidates, key)
        if not candidates:
            return None
    models = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
    return models[0] if len(models) == 1 else None


def allowed_keys(model: type[BaseModel]) -> list[str]:
    """The keys a file may use for ``model``, in the file's own spelling."""
    return [info.alias or name for name, info in model.model_fields.items()]


def suggest(word: str, choices: list[str]) -> str | None:
    """The closest choice to a misspelt ``word``, ignoring case and separators."""
    def fold(text: str) -> str:
        return text.lower().replace("_", "").replace("-", "")

    folded = {fold(choice): choice for choice in choices}
    if fold(word) in folded:
        return folded[fold(word)]
    close = difflib.get_close_matches(fold(word), list(folded), n=1, cutoff=0.6)
    return folded[close[0]] if close else None
