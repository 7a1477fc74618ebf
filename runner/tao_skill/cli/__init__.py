"""`tao-skill`: the command-line face of the runner. One module per command; heavy imports stay lazy.

The root group only registers commands. Each command module defines ``register(cli)``; the AutoML
engineer's ``tao_skill/cli/automl.py`` is picked up the same way when it exists. Commands return an
exit code (0 ok, 2 invalid input, 3 staging, 4 job failed, 130 interrupted) and raise
:class:`~tao_skill.errors.RunnerError` for anything the user must fix; :class:`_Root` renders it
through the :class:`~tao_skill.app.Application` in ``ctx.obj``, so ``CliRunner`` and the installed
script behave the same.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from pathlib import Path

import click

from tao_skill.app import Application
from tao_skill.cli.options import ensure_common_options
from tao_skill.errors import EXIT_INTERRUPTED, EXIT_INVALID, ErrorItem, RunnerError
from tao_skill.jobs import default_workspace
from tao_skill.yamlio import dumps


class _Root(click.Group):
    """Turns RunnerError into the rendered error and its exit code, and int results into exit codes."""

    def invoke(self, ctx: click.Context):
        if not isinstance(ctx.obj, Application):
            ctx.obj = Application()
        try:
            rv = super().invoke(ctx)
        except RunnerError as exc:
            ctx.exit(ctx.obj.fail(exc))
        if isinstance(rv, int) and rv != 0:
            ctx.exit(rv)
        return rv


@click.group(cls=_Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tao-skill-bank")
def cli() -> None:
    """Schema-driven jobs for agent skills: list, describe, validate, run, jobs, schemas, dataset, automl, demo.

    Exit codes: 0 ok, 2 invalid input, 3 data staging failure, 4 job failed, 130 interrupted.
    With --json a command prints exactly one JSON document on stdout.
    """


def _register() -> None:
    from tao_skill.cli import dataset, demo, describe, jobs, mcp, preflight, run, schemas, skills  # noqa: PLC0415

    for module in (describe, run, jobs, schemas, dataset, demo, skills, mcp, preflight):
        module.register(cli)
    try:
        from tao_skill.cli import automl  # noqa: PLC0415 - added by the AutoML engineer
    except ImportError:
        return
    automl.register(cli)


_register()
ensure_common_options(cli)  # every command takes --json and --workspace (the CLI contract)


#: OS errors a user's environment causes (paths that are files, read-only, missing, too long): exit 2, naming the path.
_USER_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.ENOENT,
                errno.ENAMETOOLONG, errno.ELOOP, errno.ENOSPC, errno.EDQUOT}


def _json_error(argv: list[str], message: str, code: int, log: str | None = None) -> int:
    if "--json" in argv:
        doc = {"ok": False, "exit_code": code, "errors": [
            {"key": None, "message": message, "expected": None, "got": None, "suggestion": None}]}
        if log:
            doc["log"] = log
        sys.stdout.write(dumps(doc) + "\n")
        sys.stdout.flush()
    else:
        print(f"error: {message}", file=sys.stderr)
    return code


def _workspace_of(argv: list[str]) -> Path | None:
    """The workspace this invocation names (for the crash log), without trusting it to be usable."""
    for i, arg in enumerate(argv):
        if arg == "--workspace" and i + 1 < len(argv):
            return Path(argv[i + 1])
        if arg.startswith("--workspace="):
            return Path(arg.split("=", 1)[1])
    return default_workspace()


def _database_errors() -> tuple[type[BaseException], ...]:
    """sqlite3's DatabaseError once sqlite3 is loaded (no exception can come from it before; a plan that never
    opens the job store does not import it)."""
    mod = sys.modules.get("sqlite3")
    return (mod.DatabaseError,) if mod is not None else ()


def _crash_log(argv: list[str]) -> str | None:
    """Write the current exception's traceback to ``<workspace>/logs/`` (else the temp folder); return the path."""
    import tempfile  # noqa: PLC0415 - error path only
    import traceback  # noqa: PLC0415

    text = f"tao-skill {' '.join(argv)}\n\n{traceback.format_exc()}"
    name = f"error-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
    candidates = []
    from tao_skill.staging.preflight import folder_problem  # noqa: PLC0415

    ws = _workspace_of(argv)
    try:
        if ws is not None and folder_problem(ws.expanduser().absolute()) is None:
            candidates.append(ws.expanduser().absolute() / "logs")
    except (OSError, ValueError):
        pass
    candidates.append(Path(tempfile.gettempdir()) / "tao-skill-logs")
    for folder in candidates:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(text, encoding="utf-8", errors="backslashreplace")
            return str(path)
        except OSError:
            continue
    return None


def _stdout_for_paths() -> None:
    """Paths with undecodable bytes (surrogate escapes) print as their bytes instead of crashing the output."""
    for stream in (sys.stdout, sys.stderr):
        try:
            utf8 = (stream.encoding or "").lower().replace("-", "") == "utf8"
            stream.reconfigure(errors="surrogateescape" if utf8 else "backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tao-skill` script; returns the exit code.

    Whatever happens, the user sees one line (or one JSON document) and never a traceback: a mistake
    of theirs is exit 2 naming the path or key; anything unexpected writes its traceback to a log
    file and names it (``TAO_SKILL_DEBUG=1`` prints it too).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if argv is None:
        _stdout_for_paths()
    app = Application(json_mode="--json" in args)
    if app.json_mode and any(a in ("-h", "--help", "--version") for a in args):
        return _help_as_json(args, app)
    return _main(args, app)


def _help_as_json(args: list[str], app: Application) -> int:
    """``--help``/``--version`` under ``--json``: the text inside one document (anything else passes through)."""
    import contextlib  # noqa: PLC0415
    import io  # noqa: PLC0415

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = _main(args, app)
    text = buf.getvalue()
    if text.startswith("Usage:") or (text and "version" in text.splitlines()[0] and not text.lstrip().startswith("{")):
        sys.stdout.write(dumps({"ok": code == 0, "text": text}) + "\n")
    else:
        sys.stdout.write(text)
    sys.stdout.flush()
    return code


def _main(args: list[str], app: Application) -> int:
    try:
        rv = cli.main(args=args, prog_name="tao-skill", standalone_mode=False, obj=app)
        return rv if isinstance(rv, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        if app.json_mode and not app.emitted:  # still exactly one document on stdout
            return app.fail(RunnerError("interrupted", EXIT_INTERRUPTED))
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        if "--json" in args:
            return _json_error(args, exc.format_message(), EXIT_INVALID)
        exc.show()
        return EXIT_INVALID
    except RunnerError as exc:  # raised outside a command body (should not happen; rendered anyway)
        return app.fail(exc)
    except _database_errors() as exc:
        log = _crash_log(args)
        return app.fail(RunnerError(ErrorItem("--workspace", f"the workspace's job database cannot be used: {exc} "
                                                             "(point --workspace at another folder)"), EXIT_INVALID,
                                    log=log))
    except OSError as exc:
        log = _crash_log(args)
        if exc.errno in _USER_ERRNOS and exc.filename:
            where = exc.filename if not exc.filename2 else f"{exc.filename} -> {exc.filename2}"
            return app.fail(RunnerError(ErrorItem(None, f"{where}: {exc.strerror}", got=str(exc.filename)),
                                        EXIT_INVALID, log=log))
        return _unexpected(app, args, exc, log)
    except UnicodeError as exc:  # an argument or file name with bytes that are not UTF-8 (surrogate escapes)
        return app.fail(RunnerError(ErrorItem(None, f"an argument or path holds bytes that are not valid UTF-8 "
                                                    f"({type(exc).__name__}); use UTF-8 names"), EXIT_INVALID,
                                    log=_crash_log(args)))
    except RecursionError as exc:
        return _unexpected(app, args, exc, _crash_log(args), code=EXIT_INVALID,
                           what="input nested too deeply")
    except Exception as exc:  # noqa: BLE001 - last line of defence: one line, no traceback
        return _unexpected(app, args, exc, _crash_log(args))


def _unexpected(app: Application, args: list[str], exc: BaseException, log: str | None, *, code: int = 1,
                what: str = "internal error") -> int:
    if os.environ.get("TAO_SKILL_DEBUG"):
        import traceback  # noqa: PLC0415 - error path only

        traceback.print_exception(exc)
    message = f"{what}: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    message += f" (details in {log})" if log else " (set TAO_SKILL_DEBUG=1 for a traceback)"
    if app.json_mode and app.emitted:
        print(f"error: {message}", file=sys.stderr)
        return code
    return _json_error(args, message, code, log)
