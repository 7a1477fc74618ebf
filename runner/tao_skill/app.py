"""One object owns output and exit codes: human text, or exactly one JSON document on stdout.

Commands receive the :class:`Application` through the click context (``@click.pass_obj``), switch it
to JSON mode when ``--json`` is given, and then only call ``info/warn/error/success/emit`` and
``abort``; they never ``print`` or ``sys.exit``. The root group turns a :class:`RunnerError` into the
error document and its exit code (see ``tao_skill.cli``).

Streams are looked up at call time (not at construction) so click's ``CliRunner`` can capture them.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn, TextIO

from tao_skill.errors import EXIT_INVALID, ErrorItem, RunnerError, first_recorded, reset_recorded
from tao_skill.yamlio import dumps


class Application:
    """Output and exit codes of one CLI invocation.

    Args:
        json_mode: print exactly one JSON document on stdout; everything human goes to stderr.
    """

    def __init__(self, *, json_mode: bool = False) -> None:
        self.json_mode = json_mode
        self.emitted = False
        reset_recorded()

    @property
    def log_stream(self) -> TextIO:
        """Where a job's streamed output goes: stderr in JSON mode, so stdout stays one document."""
        return sys.stderr if self.json_mode else sys.stdout

    def info(self, text: str) -> None:
        print(text, file=self.log_stream, flush=True)

    def success(self, text: str) -> None:
        self.info(text)

    def warn(self, text: str) -> None:
        print(f"warning: {text}", file=sys.stderr, flush=True)

    def error(self, text: str) -> None:
        print(f"error: {text}", file=sys.stderr, flush=True)

    def emit(self, doc: dict[str, Any], human: str | None = None) -> None:
        """The command's result: ``doc`` as JSON in JSON mode, else ``human`` (when given) as text."""
        if self.json_mode:
            sys.stdout.write(dumps(doc) + "\n")
            sys.stdout.flush()
            self.emitted = True
        elif human is not None:
            print(human, flush=True)

    def abort(self, message: str | ErrorItem | list[ErrorItem], code: int = EXIT_INVALID) -> NoReturn:
        """Stop the command with ``code``; the root group renders the errors."""
        raise RunnerError(message, code)

    def fail(self, exc: RunnerError) -> int:
        """Render ``exc`` (JSON error document or an indented list on stderr) and return its exit code.

        When this command recorded a job before failing (a staging failure, an entrypoint that cannot
        start), the document carries its ``job_id`` and ``log``.
        """
        recorded = first_recorded()
        if recorded and not exc.job_id:
            exc.job_id, exc.log = recorded[0], exc.log or recorded[1]
        if self.json_mode:
            if not self.emitted:  # one document on stdout, even when a result was printed already
                sys.stdout.write(dumps(exc.document()) + "\n")
                sys.stdout.flush()
                self.emitted = True
            else:
                for err in exc.errors:
                    print(f"error: {err}", file=sys.stderr)
        else:
            n = len(exc.errors)
            print(f"error ({n} problem{'s' if n != 1 else ''}):", file=sys.stderr)
            for err in exc.errors:
                print(f"  - {err}", file=sys.stderr)
            if exc.job_id:
                print(f"job {exc.job_id}" + (f"; log {exc.log}" if exc.log else ""), file=sys.stderr)
        return exc.code


# Older name, kept for callers written against the first draft.
App = Application
