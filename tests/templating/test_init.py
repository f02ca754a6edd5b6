from __future__ import annotations

import streamtestbench.templating as templating
from streamtestbench.templating import TemplateError


def test_public_names_are_exported() -> None:
    assert sorted(templating.__all__) == sorted([
        "CompiledBody", "CompiledText", "CompiledValue", "CsvFeeder", "FeederError", "RenderContext",
        "TemplateError", "compile_json_body", "compile_text", "compile_value", "to_text"])
    for name in templating.__all__:
        assert getattr(templating, name) is not None


def test_template_errors_are_value_errors() -> None:
    """Callers that validate a scenario catch ValueError for every kind of bad input."""
    assert issubclass(TemplateError, ValueError)
    assert issubclass(templating.FeederError, ValueError)
