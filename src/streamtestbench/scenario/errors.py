"""Scenario errors that name the file, the line, the field path and the fix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario, located as precisely as the source allows."""

    source: str
    path: str
    message: str
    line: int | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        field = f" {self.path}:" if self.path else ""
        text = f"{where}:{field} {self.message}"
        return f"{text}\n    hint: {self.hint}" if self.hint else text


class ScenarioError(ValueError):
    """Raised for any invalid scenario input; the CLI prints it and exits with code 2."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))
