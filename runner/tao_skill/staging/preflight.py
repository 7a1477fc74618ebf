"""Plan-time checks of where data comes from and where results go, so `validate` and `--dry-run` catch
what staging would otherwise find only after a job was recorded and launched.

* syntax (no network): every ``s3://`` data source and ``--results-dir`` has a valid bucket name and
  no query string; a local results folder is not a file and can be created;
* existence (network, short timeout, skippable with ``--no-remote-check``): each S3 source prefix or
  object exists and the results bucket exists. A check that cannot run (no credentials, endpoint
  unreachable, boto3 missing, the flag) is reported as skipped with the reason, never as a failure.

Only a definite "does not exist" is an error (exit 2, at the spec key, naming the flag it came from).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Mapping

from tao_skill.errors import ErrorItem
from tao_skill.staging.errors import StagingError, scrub
from tao_skill.staging.uris import is_archive, is_s3_uri, local_path_of, parse_s3_uri

#: Seconds to wait for one S3 request while planning (connect and read each).
REMOTE_TIMEOUT_S = float(os.environ.get("TAO_SKILL_REMOTE_CHECK_TIMEOUT", "5") or 5)
#: All remote checks of one plan stop after this long; the rest are reported as skipped.
REMOTE_BUDGET_S = 20.0


def _refuses_new_folders(folder: Path) -> str | None:
    """Whether the kernel refuses a new folder in ``folder`` although ``os.access`` allows it (root on /proc,
    /sys or a read-only mount): make and remove one hidden probe folder; the reason when that fails."""
    try:
        probe = folder / f".tao-skill-probe-{os.urandom(6).hex()}"  # what mkdtemp makes, without tempfile
        os.mkdir(probe, 0o700)
        os.rmdir(probe)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def folder_problem(path: Path) -> str | None:
    """Why ``path`` cannot be (or become) a folder this process writes into; None when it can."""
    try:
        if path.exists():
            if not path.is_dir():
                return "is an existing file, expected a folder"
            if not os.access(path, os.W_OK | os.X_OK):
                return "is read-only"
            refused = _refuses_new_folders(path)
            return f"does not accept new files ({refused})" if refused else None
        parent = path.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            return f"cannot be created: {parent} is a file"
        if not os.access(parent, os.W_OK | os.X_OK):
            return f"cannot be created: {parent} is read-only"
        refused = _refuses_new_folders(parent)
        if refused:
            return f"cannot be created in {parent} ({refused})"
    except (OSError, ValueError) as exc:
        return f"is not a usable path ({getattr(exc, 'strerror', None) or exc})"
    return None


def results_problems(value: Any, source: str | None) -> list[ErrorItem]:
    """Problems of the user's results location (``--results-dir`` or ``results_dir`` from a spec)."""
    flag = "--results-dir" if source in (None, "--results-dir") else f"results_dir (from {source})"
    if not isinstance(value, str):
        return [ErrorItem("results_dir", f"{flag} must be a path or s3:// URI, not a {type(value).__name__}",
                          expected="a string", got=repr(value)[:80])]
    if is_s3_uri(value):
        try:
            parse_s3_uri(value)
        except StagingError as exc:
            return [ErrorItem("results_dir", f"{flag} {exc.uri}: {exc.message}", got=exc.uri, suggestion=None,
                              expected=exc.fix)]
        return []
    try:
        path = local_path_of(value)
    except StagingError as exc:
        return [ErrorItem("results_dir", f"{flag} {exc.uri}: {exc.message}", got=exc.uri, expected=exc.fix)]
    problem = folder_problem(path)
    return [ErrorItem("results_dir", f"{flag} {path} {problem}", expected="a writable folder", got=value)] if problem else []


def source_problems(values: Mapping[str, Any], origin: Mapping[str, str] | None = None) -> list[ErrorItem]:
    """Bucket-name and URI syntax of every ``s3://`` data-source value (no network)."""
    out = []
    for key, value in values.items():
        if not isinstance(value, str) or not value:
            continue
        try:
            if is_s3_uri(value):
                parse_s3_uri(value)
            else:
                local_path_of(value)  # other schemes (gs://, ftp://) and file://host refused here, not at staging
        except StagingError as exc:
            via = f" (from {origin[key]})" if origin and origin.get(key) else ""
            out.append(ErrorItem(key, f"`{key}`{via} = {exc.uri}: {exc.message}", expected=exc.fix, got=exc.uri))
    return out


_CREDENTIAL_VARS = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
                    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI")


def credentials_configured() -> bool:
    """Whether AWS credentials are set up where boto3 looks first (environment, profile files), checked
    without importing boto3 or asking the instance-metadata service: a plan without them stays offline
    and fast, and says the checks were skipped."""
    if any(os.environ.get(v) for v in _CREDENTIAL_VARS):
        return True
    home = Path.home() / ".aws"
    files = [os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or home / "credentials",
             os.environ.get("AWS_CONFIG_FILE") or home / "config"]
    return any(Path(f).is_file() for f in files)


def _targets(sources: list[dict[str, Any]], results_uri: str | None) -> list[dict[str, Any]]:
    out = []
    seen = set()
    for entry in sources:
        uri = entry.get("uri")
        if entry.get("scheme") != "s3" or not isinstance(uri, str) or entry.get("error"):
            continue
        what = "object" if entry.get("type") == "file" or is_archive(uri) else "prefix"
        if (uri, what) in seen:
            continue
        seen.add((uri, what))
        out.append({"key": entry["key"], "uri": uri, "what": what, "from": entry.get("from")})
    if results_uri and is_s3_uri(results_uri):
        out.append({"key": "results_dir", "uri": results_uri, "what": "bucket", "from": "--results-dir"})
    return out


def remote_checks(sources: list[dict[str, Any]], results_uri: str | None, *, enabled: bool = True,
                  timeout: float = REMOTE_TIMEOUT_S, client: Any = None) -> tuple[list[dict[str, Any]], list[ErrorItem]]:
    """Ask S3 whether each source and the results bucket exist.

    Returns:
        ``(checks, errors)``: one ``{key, uri, what, status, reason}`` per S3 location (status ``ok``,
        ``missing`` or ``skipped``), and an exit-2 error per missing one.
    """
    # A remote value staging would refuse anyway (an object key with `..`, an unusable cache path) fails here
    invalid = [ErrorItem(e["key"], e["error"], got=e.get("uri")) for e in sources
               if e.get("scheme") == "s3" and e.get("error")]
    if invalid:
        return [], invalid
    targets = _targets(sources, results_uri)
    if not targets:
        return [], []

    def skip_all(reason: str) -> tuple[list[dict[str, Any]], list[ErrorItem]]:
        return [{**t, "status": "skipped", "reason": reason} for t in targets], []

    if not enabled:
        return skip_all("--no-remote-check")
    if client is None and not credentials_configured():
        return skip_all("no AWS credentials configured (environment, AWS_PROFILE or ~/.aws files)")
    if client is None:
        try:
            import boto3  # noqa: PLC0415
            from botocore.config import Config  # noqa: PLC0415
        except ImportError:
            return skip_all("boto3 is not installed")
        try:
            session = boto3.session.Session()
            if session.get_credentials() is None:
                return skip_all("no AWS credentials in this environment")
            client = session.client("s3", config=Config(connect_timeout=timeout, read_timeout=timeout,
                                                        retries={"max_attempts": 1, "mode": "standard"}))
        except Exception as exc:  # noqa: BLE001 - a broken AWS config: staging reports it properly
            return skip_all(f"cannot set up an S3 client ({scrub(type(exc).__name__ + ': ' + str(exc))[:160]})")
    checks, errors = [], []
    deadline = time.monotonic() + REMOTE_BUDGET_S
    for target in targets:
        if time.monotonic() > deadline:
            checks.append({**target, "status": "skipped", "reason": f"remote checks took more than {REMOTE_BUDGET_S:.0f} s"})
            continue
        status, reason = _check_one(client, target)
        checks.append({**target, "status": status, "reason": reason})
        if status == "missing":
            via = f" (from {target['from']})" if target.get("from") else ""
            errors.append(ErrorItem(target["key"], f"`{target['key']}`{via} = {target['uri']}: {reason}",
                                    expected=f"an existing S3 {target['what']}", got=target["uri"],
                                    suggestion="--no-remote-check" if target["what"] == "bucket" else None))
    return checks, errors


def _check_one(client: Any, target: dict[str, Any]) -> tuple[str, str | None]:
    import botocore.exceptions as bexc  # noqa: PLC0415

    loc = parse_s3_uri(target["uri"])
    try:
        if target["what"] == "bucket":
            client.head_bucket(Bucket=loc.bucket)
            return "ok", None
        if target["what"] == "object":
            client.head_object(Bucket=loc.bucket, Key=loc.key)
            return "ok", None
        listing = client.list_objects_v2(Bucket=loc.bucket, Prefix=loc.prefix, MaxKeys=1)
        if not listing.get("KeyCount") and not listing.get("Contents"):
            return "missing", "no objects under this prefix"
        return "ok", None
    except bexc.ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "NoSuchBucket" or (target["what"] == "bucket" and status == 404):
            return "missing", f"bucket '{loc.bucket}' does not exist"
        if status == 404 or code in ("NoSuchKey", "404", "NotFound"):
            if _bucket_missing(client, loc.bucket):
                return "missing", f"bucket '{loc.bucket}' does not exist"
            return "missing", "no object at this key"
        return "skipped", scrub(f"S3 answered {code or status}; not checked")
    except (bexc.BotoCoreError, OSError) as exc:
        return "skipped", scrub(f"cannot reach S3 ({type(exc).__name__})")


def _bucket_missing(client: Any, bucket: str) -> bool:
    import botocore.exceptions as bexc  # noqa: PLC0415

    try:
        client.head_bucket(Bucket=bucket)
    except bexc.ClientError as exc:
        return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404
    except (bexc.BotoCoreError, OSError):
        return False
    return False


def remote_note(checks: list[dict[str, Any]]) -> str | None:
    """One line naming the skipped checks (for the human plan); None when none was skipped."""
    skipped = [c for c in checks if c["status"] == "skipped"]
    if not skipped:
        return None
    return "remote checks skipped: " + "; ".join(f"{c['key']} {c['uri']} ({c['reason']})" for c in skipped)
