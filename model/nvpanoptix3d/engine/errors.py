"""The one exception type an action raises for a user-fixable problem (printed as one line, exit code 1)."""

from __future__ import annotations


class EngineError(RuntimeError):
    """An action failed for a reason the user can act on; the message names the file or key involved."""


class CheckpointError(EngineError):
    """A checkpoint is missing, unreadable, encrypted with another key or belongs to another network."""
