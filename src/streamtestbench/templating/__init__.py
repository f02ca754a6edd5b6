"""Templates in scenario strings and bodies: compile once, render per request.

``${name}`` and ``{{ name }}`` read variables (captures, data rows, ``variables``) then
``vu``/``iteration``; ``{{ $env.NAME }}`` reads the environment; ``{{ $randomUUID() }}``,
``$randomInt(a, b)``, ``$timestamp()``, ``$randomString(n)`` and ``$randomItem(a, b)``
draw from the context's seeded random generator.
"""

from .context import RenderContext
from .errors import TemplateError
from .feeder import CsvFeeder, FeederError
from .text import CompiledText, compile_text, to_text
from .value import CompiledBody, CompiledValue, compile_json_body, compile_value

__all__ = [
    "CompiledBody",
    "CompiledText",
    "CompiledValue",
    "CsvFeeder",
    "FeederError",
    "RenderContext",
    "TemplateError",
    "compile_json_body",
    "compile_text",
    "compile_value",
    "to_text",
]
