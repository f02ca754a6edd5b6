"""The one error templating raises: a template that cannot be compiled."""

from __future__ import annotations


class TemplateError(ValueError):
    """A malformed expression or an unknown function; the message quotes the template text."""
