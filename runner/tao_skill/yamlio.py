"""The one way the runner reads YAML and JSON: spec files, ``--overrides-json``, skill_info.yaml,
templates, schemas, and the one way it writes JSON documents (strict: no NaN/Infinity).

Everything a user (or a skill directory) hands the runner passes through here, so hostile input is
refused in one place, with the path and line, before it can cost time or memory:

* only regular files are read (a directory, FIFO or device is refused: reading ``/dev/zero`` or a FIFO
  never ends), at most :data:`MAX_BYTES` of them (``TAO_SKILL_MAX_INPUT_BYTES`` overrides);
* binary (NUL bytes), non-UTF-8 and empty inputs are refused;
* YAML aliases and merge keys are refused (a spec needs none, and nested aliases - "billion laughs" -
  grow exponentially once expanded); duplicate mapping keys are refused with the key and its line;
  NUL characters inside strings are refused (no path or key may hold one);
* YAML keeps libyaml's C parser (about 10x faster on big templates) with ``yaml.safe_load``'s YAML 1.1
  types; JSON uses the standard parser with a duplicate-key hook; nesting deeper than the parsers'
  recursion limit is reported, not crashed on.

Every refusal is a :class:`InputError` (a :class:`~tao_skill.errors.RunnerError`, exit 2) whose
message names the path (or the flag) it is about.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from tao_skill.errors import EXIT_INVALID, ErrorItem, RunnerError

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
YAMLError = yaml.YAMLError

#: Largest input read (bytes). Specs and templates are tens of kB; a bound keeps a stray multi-GB file
#: or a generated monster from costing minutes.
MAX_BYTES = 2 * 2**20
ENV_MAX_BYTES = "TAO_SKILL_MAX_INPUT_BYTES"
#: Largest number of YAML nodes in one document (a real spec has a few thousand).
MAX_NODES = 100_000
#: Deepest nesting of mappings/lists (a spec nests 4-5 levels; deeper input would only exhaust recursion later).
MAX_DEPTH = 64


class InputError(RunnerError):
    """A file or argument the runner cannot read as YAML/JSON; ``kind`` says why (``syntax``, ``alias``,
    ``duplicate``, ``binary``, ``encoding``, ``empty``, ``size``, ``not_file``, ``missing``, ``unreadable``,
    ``depth``, ``nul``)."""

    def __init__(self, item: ErrorItem, kind: str) -> None:
        super().__init__(item, EXIT_INVALID)
        self.kind = kind


def max_bytes() -> int:
    raw = os.environ.get(ENV_MAX_BYTES, "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return MAX_BYTES


def _fail(kind: str, key: str | None, message: str, got: Any = None, expected: Any = None) -> InputError:
    return InputError(ErrorItem(key, message, expected=expected, got=got), kind)


# -- reading files -----------------------------------------------------------------------------


def read_text(path: Path | str, *, what: str, key: str | None = None, allow_empty: bool = False) -> str:
    """The UTF-8 text of a regular file, refused with a clear message when it is anything else.

    Args:
        path: The file.
        what: How the user knows it, for messages ("spec file", "skill_info.yaml", "--overrides-json file").
        key: The flag or key the error is reported under (``--spec``); defaults to the path.
        allow_empty: Return ``""`` for an empty file instead of refusing it.

    Raises:
        InputError: missing, not a regular file, too big, unreadable, binary, not UTF-8, or empty.
    """
    path = Path(path)
    key = key or str(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise _fail("missing", key, f"cannot read {what} {path}: it does not exist", got=str(path)) from None
    except NotADirectoryError:
        raise _fail("missing", key, f"cannot read {what} {path}: it does not exist (a part of the path is a file)",
                    got=str(path)) from None
    except OSError as exc:
        raise _fail("unreadable", key, f"cannot read {what} {path}: {exc.strerror or exc}", got=str(path)) from None
    except ValueError:  # embedded NUL
        raise _fail("unreadable", key, f"{what} path {path!r} is not a valid path", got=repr(str(path))) from None
    if stat.S_ISDIR(st.st_mode):
        raise _fail("not_file", key, f"{what} {path} is a directory, expected a file", got=str(path), expected="a file")
    if not stat.S_ISREG(st.st_mode):
        raise _fail("not_file", key, f"{what} {path} is not a regular file (a device, FIFO or socket)", got=str(path),
                    expected="a regular file")
    limit = max_bytes()
    if st.st_size > limit:
        raise _fail("size", key, f"{what} {path} is {st.st_size} bytes, more than the {limit}-byte limit "
                                 f"(set {ENV_MAX_BYTES} to raise it)", got=st.st_size, expected=f"<= {limit} bytes")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(limit + 1)  # /proc files report size 0: read at most one byte past the bound
    except OSError as exc:
        raise _fail("unreadable", key, f"cannot read {what} {path}: {exc.strerror or exc}", got=str(path)) from None
    if len(raw) > limit:
        raise _fail("size", key, f"{what} {path} is more than the {limit}-byte limit (set {ENV_MAX_BYTES} to raise it)",
                    got=str(path), expected=f"<= {limit} bytes")
    return decode(raw, what=f"{what} {path}", key=key, allow_empty=allow_empty)


def decode(raw: bytes, *, what: str, key: str | None, allow_empty: bool = False) -> str:
    """UTF-8 text of ``raw`` (a UTF-8 byte-order mark is dropped); binary, other encodings and empty
    input are refused, naming ``what``."""
    if b"\x00" in raw:
        raise _fail("binary", key, f"{what} is binary (it holds NUL bytes), expected UTF-8 text",
                    expected="UTF-8 YAML/JSON text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail("encoding", key, f"{what} is not UTF-8 text (byte {exc.start}: {raw[exc.start:exc.start + 1]!r}); "
                                     "save it as UTF-8", expected="UTF-8 text") from None
    if not allow_empty and not text.strip():
        raise _fail("empty", key, f"{what} is empty", expected="a YAML/JSON mapping")
    return text


# -- YAML ------------------------------------------------------------------------------------


def _check_nodes(root: yaml.Node, where: str, key: str | None) -> None:
    """Refuse aliases (a node reached twice), merge keys, duplicate keys, NUL characters, too many nodes."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, str, int]] = [(root, "", 0)]
    count = 0
    while stack:
        node, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _fail("depth", key, f"{where}, line {node.start_mark.line + 1}: nested more than {MAX_DEPTH} levels "
                                      "deep; a spec needs far fewer")
        if id(node) in seen:
            line = node.start_mark.line + 1
            raise _fail("alias", key, f"{where}: YAML aliases are not allowed (`{path or '<root>'}` reuses the value "
                                      f"anchored on line {line}); write the value out in full", got=path or None)
        seen.add(id(node))
        count += 1
        if count > MAX_NODES:
            raise _fail("size", key, f"{where} has more than {MAX_NODES} YAML nodes; a spec needs far fewer")
        if isinstance(node, yaml.ScalarNode):
            if "\x00" in node.value:
                raise _fail("nul", key, f"{where}, line {node.start_mark.line + 1}: a NUL character in "
                                        f"`{path or '<root>'}`", got=path or None)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            names: dict[tuple[str, str], int] = {}
            for k, v in node.value:
                if k.tag == "tag:yaml.org,2002:merge":
                    raise _fail("alias", key, f"{where}, line {k.start_mark.line + 1}: YAML merge keys (`<<`) "
                                              "are not allowed; write the keys out in full", got="<<")
                label = k.value if isinstance(k, yaml.ScalarNode) else f"<{k.id} key>"
                child = f"{path}.{label}" if path else str(label)
                if isinstance(k, yaml.ScalarNode):
                    ident = (k.tag, k.value)
                    if ident in names:
                        raise _fail("duplicate", key, f"{where}, line {k.start_mark.line + 1}: duplicate key "
                                                      f"`{child}` (first set on line {names[ident]})", got=child)
                    names[ident] = k.start_mark.line + 1
                stack.append((k, child, depth + 1))
                stack.append((v, child, depth + 1))


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """What is wrong and where, without the snippet of the text PyYAML's pure-Python loader quotes (the file
    may be a credentials file given by mistake: its lines must not reach the terminal)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    words = [w for w in (getattr(exc, "context", None), getattr(exc, "problem", None)) if w]
    what = ", ".join(words) if words else type(exc).__name__
    return f"{what} (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else what


def load_yaml(text: str, *, source: str = "YAML input", key: str | None = None) -> Any:
    """Parse one YAML document safely (no Python object tags, no aliases, no duplicate keys).

    Raises:
        InputError: ``kind == "syntax"`` for text that is not YAML (the message carries the line), or
            one of the structural refusals above.
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node, source, key)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _fail("syntax", key, f"{source} is not valid YAML: {_yaml_problem(exc)}") from None
    except (ValueError, TypeError, RecursionError) as exc:  # e.g. an integer of 5,000 digits
        raise _fail("syntax", key, f"{source} holds a value YAML cannot read: {type(exc).__name__}: "
                                   f"{str(exc)[:200]}") from None
    finally:
        loader.dispose()


def load_yaml_file(path: Path | str, *, what: str, key: str | None = None, allow_empty: bool = False) -> Any:
    """:func:`read_text` then :func:`load_yaml`; a file holding only comments counts as empty."""
    text = read_text(path, what=what, key=key, allow_empty=allow_empty)
    data = load_yaml(text, source=f"{what} {path}", key=key or str(path))
    if data is None and not allow_empty:
        raise _fail("empty", key or str(path), f"{what} {path} holds no settings (only comments or `null`)",
                    expected="a YAML mapping")
    return data


# -- JSON ------------------------------------------------------------------------------------


def _line_of_second(text: str, name: str) -> int | None:
    hits = [m.start() for m in re.finditer(re.escape(json.dumps(name)) + r"\s*:", text)]
    return text.count("\n", 0, hits[1]) + 1 if len(hits) > 1 else None


def _no_nul(value: Any, where: str, key: str | None, path: str = "") -> None:
    stack = [(value, path, 0)]
    while stack:
        item, at, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _fail("depth", key, f"{where} is nested more than {MAX_DEPTH} levels deep")
        if isinstance(item, str):
            if "\x00" in item:
                raise _fail("nul", key, f"{where}: a NUL character in `{at or '<root>'}`", got=at or None)
        elif isinstance(item, dict):
            for k, v in item.items():
                child = f"{at}.{k}" if at else str(k)
                stack.extend(((k, child, depth + 1), (v, child, depth + 1)))
        elif isinstance(item, list):
            stack.extend((v, f"{at}[{i}]", depth + 1) for i, v in enumerate(item))


def load_json(text: str, *, source: str = "JSON input", key: str | None = None) -> Any:
    """Parse JSON, refusing duplicate keys (with the key and line), NUL characters and absurd nesting.

    ``NaN``/``Infinity`` literals are read as floats: validation refuses them at their key, where the
    message can say which key it is.

    Raises:
        InputError: not JSON (``kind == "syntax"``), or a refusal.
    """

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in items:
            if name in out:
                line = _line_of_second(text, name)
                raise _fail("duplicate", key, f"{source}{f', line {line}' if line else ''}: duplicate key `{name}`",
                            got=name)
            out[name] = value
        return out

    if not text.strip():
        raise _fail("empty", key, f"{source} is empty", expected="a JSON object")
    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise _fail("syntax", key, f"{source} is not valid JSON: {exc}") from None
    except RecursionError:
        raise _fail("depth", key, f"{source} is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of 5,000 digits
        raise _fail("syntax", key, f"{source} holds a value JSON cannot read: {str(exc)[:200]}") from None
    user_input = bool(key and key.startswith("--"))  # --overrides-json: small, so always walked (NUL, depth)
    if user_input or "\\u0000" in text or "\x00" in text:  # else the only ways a NUL reaches a parsed string;
        _no_nul(data, source, key)                          # the walk costs ~30 ms on a generated schema
    return data


def load_json_file(path: Path | str, *, what: str, key: str | None = None) -> Any:
    return load_json(read_text(path, what=what, key=key), source=f"{what} {path}", key=key or str(path))


def load_file(path: Path | str, *, what: str, key: str | None = None) -> Any:
    """JSON for ``*.json``, else YAML."""
    if Path(path).suffix == ".json":
        return load_json_file(path, what=what, key=key)
    return load_yaml_file(path, what=what, key=key)


# -- writing JSON ----------------------------------------------------------------------------


def strict(value: Any) -> Any:
    """A copy of ``value`` that strict JSON can hold: NaN/±Infinity become ``None``, tuples/sets lists,
    paths, dates, bytes and other objects their string form. Dict keys become strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [strict(v) for v in value]
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def dumps(value: Any, *, indent: int | None = 2) -> str:
    """Strict JSON text of ``value`` (see :func:`strict`); never emits ``NaN`` or ``Infinity``."""
    return json.dumps(strict(value), indent=indent, allow_nan=False)
