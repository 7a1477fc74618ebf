"""The direct route: the entrypoint runs once as a recorded job."""

from __future__ import annotations

from typing import Any, TextIO

from tao_skill.launch import execute
from tao_skill.plan import Prepared


def run_direct(prep: Prepared, *, out: TextIO) -> dict[str, Any]:
    return execute(prep, out=out)
