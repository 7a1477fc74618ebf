"""Errors the runner reports to people and agents: one shape, one exit code per kind."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

EXIT_OK = 0
EXIT_INVALID = 2
EXIT_STAGING = 3
EXIT_JOB_FAILED = 4
EXIT_INTERRUPTED = 130


@dataclass
class ErrorItem:
    """One problem: which key, what is wrong, what was expected, what was given, what to do instead."""

    key: str | None
    message: str
    expected: Any = None
    got: Any = None
    suggestion: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        if self.key and f"`{self.key}`" not in self.message:
            text = f"`{self.key}`: {self.message}"
        else:
            text = self.message
        if self.suggestion:
            text += f" (did you mean `{self.suggestion}`?)"
        return text


class RunnerError(Exception):
    """A failure with an exit code and a list of errors; the CLI prints it without a traceback."""

    def __init__(self, errors: list[ErrorItem] | ErrorItem | str, code: int = EXIT_INVALID) -> None:
        if isinstance(errors, str):
            errors = [ErrorItem(None, errors)]
        elif isinstance(errors, ErrorItem):
            errors = [errors]
        self.errors = errors
        self.code = code
        super().__init__("; ".join(str(e) for e in errors))
