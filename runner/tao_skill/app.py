"""One object owns output and exit codes: human text or exactly one JSON document on stdout."""

from __future__ import annotations

import json
import sys
from typing import Any

from tao_skill.errors import RunnerError


class App:
    def __init__(self, json_mode: bool = False) -> None:
        self.json_mode = json_mode

    @property
    def log_stream(self):
        """Where streamed job output goes: stderr in JSON mode so stdout stays one document."""
        return sys.stderr if self.json_mode else sys.stdout

    def info(self, text: str) -> None:
        print(text, file=sys.stderr if self.json_mode else sys.stdout)

    def warn(self, text: str) -> None:
        print(f"warning: {text}", file=sys.stderr)

    def emit(self, doc: dict[str, Any], human: str | None = None) -> None:
        if self.json_mode:
            sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
        elif human is not None:
            print(human)

    def fail(self, exc: RunnerError) -> int:
        if self.json_mode:
            sys.stdout.write(json.dumps({"ok": False, "exit_code": exc.code,
                                         "errors": [e.as_dict() for e in exc.errors]}, indent=2, default=str) + "\n")
        else:
            print(f"error ({len(exc.errors)} problem{'s' if len(exc.errors) != 1 else ''}):", file=sys.stderr)
            for err in exc.errors:
                print(f"  - {err}", file=sys.stderr)
        return exc.code
