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
        if self.key and f"`{self.key}`" not in self.message and not self.message.startswith((self.key, "--")):
            text = f"`{self.key}`: {self.message}"
        else:
            text = self.message
        if self.suggestion:
            text += f" (did you mean `{self.suggestion}`?)"
        return text


class RunnerError(Exception):
    """A failure with an exit code and a list of errors; the CLI prints it without a traceback."""

    def __init__(self, errors: list[ErrorItem] | ErrorItem | str, code: int = EXIT_INVALID, *,
                 job_id: str | None = None, log: str | None = None) -> None:
        if isinstance(errors, str):
            errors = [ErrorItem(None, errors)]
        elif isinstance(errors, ErrorItem):
            errors = [errors]
        self.errors = errors
        self.code = code
        #: The job this failure was recorded against (a run that created a job before failing), and its log.
        self.job_id = job_id
        self.log = log
        super().__init__("; ".join(str(e) for e in errors))

    def document(self) -> dict:
        """The ``--json`` error document: ``ok``, ``exit_code``, ``errors`` and, when a job was recorded,
        ``job_id`` and ``log``."""
        doc: dict = {"ok": False, "exit_code": self.code, "errors": [e.as_dict() for e in self.errors]}
        if self.job_id:
            doc["job_id"] = self.job_id
        if self.log:
            doc["log"] = self.log
        return doc


#: Jobs recorded by the current command (first = the one the user asked for; AutoML trials come later).
_RECORDED: list[tuple[str, str]] = []


def note_recorded(job_id: str, log: str) -> None:
    """The job store calls this when it records a job, so an error of the same command can name it."""
    _RECORDED.append((job_id, log))


def first_recorded() -> tuple[str, str] | None:
    """(job_id, log path) of the first job this command recorded, or None."""
    return _RECORDED[0] if _RECORDED else None


def reset_recorded() -> None:
    """Forget recorded jobs (a new command starts; tests call the CLI many times in one process)."""
    _RECORDED.clear()
