"""The one error type of staging, and the scrubber that keeps credentials out of every message.

Staging talks to S3 through botocore, whose error text can carry an access key id, a presigned
URL's signature or a session token. Every message built here passes through :func:`scrub` before
it can reach a terminal, a log or a job record.
"""

from __future__ import annotations

import os
import re

# Access key ids have a documented 4-letter prefix by kind (user, temporary, role, ...).
_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[A-Z0-9]{12,}\b")
# Query parameters of presigned URLs (SigV4 and SigV2) and any "secret=value" style pair.
_SECRET_PARAMS = re.compile(
    r"(?i)\b(X-Amz-(?:Signature|Credential|Security-Token)|Signature|AWSAccessKeyId|Credential"
    r"|x-amz-security-token|aws_secret_access_key|aws_session_token|aws_access_key_id"
    r"|secret_?key|session_?token)(\s*[=:]\s*)(['\"]?)[^\s&'\",;]+"
)
_ENV_SECRETS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
_REDACTED = "***"
# Credential values resolved by boto3 during this process (profiles, config files, roles): removed
# from messages like the environment's. Held in memory only, never written anywhere.
_REGISTERED: set[str] = set()


def register_secrets(values: list[str | None] | tuple[str | None, ...]) -> None:
    """Remember credential strings so that :func:`scrub` removes them from any later message."""
    _REGISTERED.update(v for v in values if v and len(v) >= 8)


def known_secrets() -> list[str]:
    """Credential values present in this process's environment (only to remove them from text)."""
    values = list(_REGISTERED)
    for name in _ENV_SECRETS:
        value = os.environ.get(name, "")
        # Very short values cannot be told apart from ordinary words; they are not real keys either.
        if len(value) >= 8:
            values.append(value)
    return values


def scrub(text: str, extra_secrets: list[str] | tuple[str, ...] = ()) -> str:
    """Remove credentials from ``text``.

    Args:
        text: Any message, possibly containing botocore error text or URLs.
        extra_secrets: Further literal values to remove (e.g. the resolved session credentials).

    Returns:
        The text with access key ids, secret keys, session tokens and presigned-URL signatures
        replaced by ``***``.
    """
    for secret in sorted({*known_secrets(), *(s for s in extra_secrets if s and len(s) >= 8)}, key=len, reverse=True):
        text = text.replace(secret, _REDACTED)
    text = _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{_REDACTED}", text)
    return _ACCESS_KEY_ID.sub(_REDACTED, text)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class StagingError(Exception):
    """A data source could not be staged or results could not be uploaded.

    ``str(error)`` is one line naming the URI, what went wrong and the fix, with credentials
    scrubbed. The runner maps it to exit code 3.

    Attributes:
        uri: The data-source value or destination the failure is about.
        fix: What the user should do about it.
        message: The problem alone, without URI and fix.
        key: The spec key the value came from, when known.
    """

    def __init__(self, message: str, *, uri: str, fix: str, key: str | None = None) -> None:
        self.message = _one_line(scrub(message))
        self.uri = scrub(str(uri))
        self.fix = _one_line(scrub(fix))
        self.key = key
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"`{self.key}` = {self.uri}" if self.key else self.uri
        return f"{where}: {self.message}. Fix: {self.fix}"

    def with_key(self, key: str) -> "StagingError":
        """Return the same error, attributed to the spec key ``key``."""
        if self.key == key:
            return self
        err = StagingError(self.message, uri=self.uri, fix=self.fix, key=key)
        err.__cause__ = self.__cause__
        return err

    def __str__(self) -> str:
        return self._render()
