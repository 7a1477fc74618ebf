"""The S3 client staging uses, and the translation of botocore failures into one-line StagingErrors.

The client comes from a plain ``boto3.session.Session()``, so the standard AWS environment and
config apply unchanged: ``AWS_PROFILE``, ``AWS_DEFAULT_REGION``/``AWS_REGION``, the shared config
and credentials files, ``AWS_ENDPOINT_URL``/``AWS_ENDPOINT_URL_S3`` (MinIO and other S3-compatible
stores), ``AWS_MAX_ATTEMPTS``/``AWS_RETRY_MODE``, instance roles. This module imports boto3; import
it only when an ``s3://`` value is present.
"""

from __future__ import annotations

from typing import Any

import boto3
import botocore.exceptions as bexc
from botocore.config import Config

from tao_skill.staging.errors import StagingError, register_secrets

_CREDENTIALS_FIX = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary keys), "
    "or AWS_PROFILE naming a profile in ~/.aws/credentials, or run where an instance/task role is available"
)
_NOT_FOUND = {"NoSuchKey", "404", "NotFound"}
_DENIED = {"AccessDenied", "403", "Forbidden", "AllAccessDisabled", "AccountProblem", "InvalidObjectState"}
_BAD_CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
                    "TokenRefreshRequired", "InvalidClientTokenId", "ExpiredTokenException"}
_WRONG_REGION = {"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException", "301"}


def make_client(*, max_pool_connections: int = 32) -> Any:
    """An S3 client configured from the standard AWS environment.

    Args:
        max_pool_connections: HTTP connections kept open; at least the transfer concurrency.

    Returns:
        A ``botocore`` S3 client.

    Raises:
        StagingError: the configured profile does not exist.
    """
    try:
        session = boto3.session.Session()
        client = session.client("s3", config=Config(max_pool_connections=max_pool_connections,
                                                    user_agent_extra="tao-skill-staging"))
    except bexc.ProfileNotFound as exc:
        raise StagingError(f"AWS profile '{exc.kwargs.get('profile', '?')}' not found", uri="s3://",
                           fix="set AWS_PROFILE to a profile defined in ~/.aws/config or ~/.aws/credentials") from None
    except bexc.BotoCoreError as exc:
        raise translate_error(exc, "s3://") from None
    _remember_credentials(session)
    return client


def _remember_credentials(session: Any) -> None:
    """Register the resolved credential strings with the scrubber (never stored or printed)."""
    try:
        creds = session.get_credentials()
        if creds is not None:
            frozen = creds.get_frozen_credentials()
            register_secrets([frozen.access_key, frozen.secret_key, frozen.token])
    except Exception:  # resolving may fail here; the first request will report it properly
        pass


def endpoint_of(client: Any) -> str:
    """The endpoint URL the client talks to (for messages)."""
    try:
        return str(client.meta.endpoint_url)
    except AttributeError:
        return "the S3 endpoint"


def _find_botocore_error(exc: BaseException) -> BaseException:
    """s3transfer may wrap the real botocore error; walk the cause chain to find it."""
    seen = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, (bexc.ClientError, bexc.BotoCoreError)):
            return cur
        last = getattr(cur, "last_exception", None)
        cur = last if isinstance(last, BaseException) else (cur.__cause__ or cur.__context__)
    return exc


def error_code(exc: BaseException) -> str:
    """The S3 error code of a ClientError (``NoSuchKey``, ``403``...), or ``""``."""
    exc = _find_botocore_error(exc)
    if isinstance(exc, bexc.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def translate_error(exc: BaseException, uri: str, *, client: Any = None, what: str = "object",
                    bucket_missing: bool = False) -> StagingError:
    """Turn a boto3/botocore/s3transfer failure into a StagingError naming ``uri`` and the fix.

    Args:
        exc: The exception raised by boto3 or a transfer future.
        uri: The S3 URI the operation was about.
        client: The client used (only to name its endpoint).
        what: ``"object"``, ``"prefix"`` or ``"upload"``: shapes the not-found message.
        bucket_missing: The caller established that the bucket itself is missing.
    """
    if isinstance(exc, StagingError):
        return exc
    real = _find_botocore_error(exc)
    endpoint = endpoint_of(client) if client is not None else "the S3 endpoint"
    bucket = uri[5:].split("/", 1)[0] if uri.startswith("s3://") else "?"
    if isinstance(real, (bexc.NoCredentialsError, bexc.PartialCredentialsError, bexc.CredentialRetrievalError)):
        return StagingError("no usable AWS credentials were found", uri=uri, fix=_CREDENTIALS_FIX)
    if isinstance(real, bexc.ProfileNotFound):
        return StagingError("the AWS profile in AWS_PROFILE does not exist", uri=uri,
                            fix="set AWS_PROFILE to a profile defined in ~/.aws/config or ~/.aws/credentials")
    if isinstance(real, (bexc.EndpointConnectionError, bexc.ConnectTimeoutError, bexc.ConnectionClosedError,
                         bexc.ReadTimeoutError, bexc.HTTPClientError, bexc.ProxyConnectionError)):
        return StagingError(
            f"cannot reach the S3 endpoint {endpoint} ({type(real).__name__})",
            uri=uri,
            fix="check AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 (for MinIO and other S3-compatible stores), "
                "that the server is up, and network/proxy settings; then run again",
        )
    if isinstance(real, bexc.ClientError):
        err = real.response.get("Error", {})
        code = str(err.get("Code", ""))
        status = real.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "NoSuchBucket" or bucket_missing:
            return StagingError(f"bucket '{bucket}' does not exist at {endpoint}", uri=uri,
                                fix="check the bucket name in the URI, AWS_ENDPOINT_URL and AWS_PROFILE/region")
        if code in _NOT_FOUND or status == 404:
            if what == "prefix":
                return StagingError("no objects under this prefix", uri=uri,
                                    fix="check the prefix (list it with `aws s3 ls` on the URI) and that the data was uploaded")
            return StagingError("no object at this key", uri=uri,
                                fix="check the key (list the parent with `aws s3 ls`) and that the file was uploaded")
        if code in _BAD_CREDENTIALS:
            return StagingError(f"S3 rejected the credentials ({code})", uri=uri,
                                fix="refresh or correct the AWS credentials (keys, session token, AWS_PROFILE)")
        if code in _DENIED or status == 403:
            action = "s3:PutObject and s3:ListBucket" if what == "upload" else "s3:GetObject and s3:ListBucket"
            return StagingError(f"access denied ({code or status})", uri=uri,
                                fix=f"grant {action} on bucket '{bucket}' to the credentials in use, or pick another AWS_PROFILE")
        if code in _WRONG_REGION or status == 301:
            return StagingError(f"bucket '{bucket}' is in another region ({code})", uri=uri,
                                fix="set AWS_REGION / AWS_DEFAULT_REGION to the bucket's region")
        if code in ("PreconditionFailed", "412") or status == 412:
            return StagingError("the object changed while it was being downloaded", uri=uri,
                                fix="run again once the upload to the bucket has finished")
        msg = err.get("Message") or str(real)
        return StagingError(f"S3 error {code or status}: {msg}", uri=uri,
                            fix="see the S3 error code reference; check the URI, permissions and endpoint")
    if isinstance(real, bexc.BotoCoreError):
        return StagingError(f"S3 client error ({type(real).__name__}: {real})", uri=uri,
                            fix="check the AWS configuration (region, endpoint, profile) and run again")
    if isinstance(exc, OSError):
        return StagingError(f"local file error ({exc.strerror or exc})", uri=uri,
                            fix="check that the workspace cache folder is writable and the disk is not full")
    return StagingError(f"transfer failed ({type(exc).__name__}: {exc})", uri=uri, fix="run again; if it persists, check the AWS configuration")
