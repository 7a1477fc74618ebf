"""Compiled validators: each action's JSON Schema turned into a plain-Python module ahead of time.

The runner's fast acceptance path (:mod:`tao_skill.validation`) imports ``schemas/<action>_validator.py``
instead of jsonschema: a plan of a spec seen for the first time then costs a few milliseconds of
validation instead of ~0.2 s of imports. The module is fastjsonschema's ``compile_to_code`` output for a
draft-07 copy of the schema, with fastjsonschema's exception import replaced by a local class (importing
fastjsonschema itself costs ~15 ms), under a stamp that says what it was compiled from.

Why draft-07: fastjsonschema has no 2020-12 generator. The copy is taken only when every keyword the
schema uses means the same in both drafts (:data:`SAME_IN_DRAFT_07`); a schema with any other keyword
(``$ref``/``$defs``, ``prefixItems``, ``unevaluatedProperties``, array-form ``items``, ...) gets no
compiled validator, and plans of it take the full path.

Drift: the stamp holds the sha256 of the canonical schema, the rules entry and this generator's version.
`schemas check` fails when the stamp is not what the schema and skill_info.yaml give today, or when the
code under the stamp is not the code the stamp hashes (a hand edit). When the installed fastjsonschema
is the one named in the stamp, the code must also equal what it generates now; another fastjsonschema
version may word the same checks differently, which is not drift.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import re
from typing import Any

from tao_skill.verdicts import schema_digest

GENERATOR = "compiled-validator-1"
# Keywords whose meaning is identical in JSON Schema draft-07 and 2020-12 (annotations included).
SAME_IN_DRAFT_07 = frozenset({
    "$schema", "$id", "title", "description", "default", "examples", "readOnly", "writeOnly", "deprecated",
    "type", "enum", "const", "properties", "additionalProperties", "required", "items",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "minItems", "maxItems", "uniqueItems", "minLength", "maxLength", "minProperties", "maxProperties",
})
_FJS_IMPORT = "from fastjsonschema import JsonSchemaValueException, JsonSchemaValuesException\n"
_LOCAL_EXCEPTIONS = (
    "class JsonSchemaValueException(ValueError):\n"
    "    \"\"\"A value the schema refuses (the fast path only needs to know that it did).\"\"\"\n"
    "\n"
    "    def __init__(self, message, value=None, name=None, definition=None, rule=None):\n"
    "        super().__init__(message)\n"
    "        self.message, self.value, self.name, self.definition, self.rule = message, value, name, definition, rule\n"
    "\n"
    "\n"
    "class JsonSchemaValuesException(ValueError):\n"
    "    \"\"\"Several refused values (unused with fast_fail).\"\"\"\n"
)
_STAMP = re.compile(r"^STAMP = (\{.*\})$", re.M)


def file_name(action: str) -> str:
    return f"{action}_validator.py"


def unsupported_keywords(schema: Any, where: str = "") -> list[str]:
    """Dotted places of keywords outside :data:`SAME_IN_DRAFT_07` (``x-`` extensions are annotations)."""
    out: list[str] = []
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key.startswith("x-"):
                continue
            if key not in SAME_IN_DRAFT_07:
                out.append(f"{where or '<root>'}: {key}")
            elif key == "properties" and isinstance(value, dict):
                for name, sub in value.items():
                    out += unsupported_keywords(sub, f"{where}.{name}" if where else name)
            elif key == "items" and not isinstance(value, dict):
                out.append(f"{where or '<root>'}: items (array form)")
            elif key in ("items", "additionalProperties") and isinstance(value, dict):
                out += unsupported_keywords(value, f"{where}[{key}]")
    return out


def _body(schema: dict[str, Any]) -> str:
    import fastjsonschema  # noqa: PLC0415 - needed only to generate

    draft07 = copy.deepcopy(schema)
    draft07["$schema"] = "http://json-schema.org/draft-07/schema#"
    code = fastjsonschema.compile_to_code(draft07, use_default=False, use_formats=False, detailed_exceptions=False)
    if _FJS_IMPORT in code:  # else keep fastjsonschema's import: correct, only slower to load
        code = code.replace(_FJS_IMPORT, _LOCAL_EXCEPTIONS)
    entry = re.search(r"^def (validate\w*)\(", code, re.M)
    if entry is None:
        raise RuntimeError("fastjsonschema produced no validate function")
    return f"{code.rstrip()}\n\n\nvalidate = {entry.group(1)}\n"


def build_module(schema: dict[str, Any], action: str, rules_entry: str | None) -> str | None:
    """The text of ``schemas/<action>_validator.py``, or None when the schema uses a keyword that would
    mean something else in draft-07 (that action is then always validated by the full path)."""
    if unsupported_keywords(schema):
        return None
    import fastjsonschema  # noqa: PLC0415

    body = _body(schema)
    stamp = {"generator": GENERATOR, "schema_sha256": schema_digest(schema), "rules_entry": rules_entry,
             "fastjsonschema": fastjsonschema.VERSION, "body_sha256": hashlib.sha256(body.encode()).hexdigest()}
    return (
        f'"""Compiled validator of schemas/{action}.schema.json, written by `tao-skill schemas generate`: do not '
        "edit.\n\nfastjsonschema's code for a draft-07 copy of the schema (tao_skill.schemagen.compiled); the runner "
        "imports it to accept a\nvalid spec without jsonschema. The stamp says what it was compiled from.\n\"\"\"\n"
        "# ruff: noqa\n"
        f"STAMP = {dict(sorted(stamp.items()))!r}\n"
        f"SCHEMA_SHA256 = {stamp['schema_sha256']!r}\n"
        f"RULES_ENTRY = {rules_entry!r}\n"
        f"{body}"
    )


def read_stamp(text: str) -> dict[str, Any] | None:
    m = _STAMP.search(text)
    if m is None:
        return None
    try:
        stamp = ast.literal_eval(m.group(1))
    except (ValueError, SyntaxError):
        return None
    return stamp if isinstance(stamp, dict) else None


def _body_of(text: str) -> str:
    marker = "RULES_ENTRY = "
    start = text.find(marker)
    return text[text.index("\n", start) + 1:] if start >= 0 else ""


def equivalent(actual: str, expected: str) -> bool:
    """Whether the packaged module ``actual`` is up to date with the freshly generated ``expected``."""
    if actual == expected:
        return True
    have, want = read_stamp(actual), read_stamp(expected)
    if have is None or want is None:
        return False
    same_source = all(have.get(k) == want.get(k) for k in ("generator", "schema_sha256", "rules_entry"))
    if not same_source or hashlib.sha256(_body_of(actual).encode()).hexdigest() != have.get("body_sha256"):
        return False
    if have.get("fastjsonschema") == want.get("fastjsonschema"):
        return False  # same compiler, same input, other text: edited by hand
    header = actual[:actual.find("STAMP = ")]
    return header == expected[:expected.find("STAMP = ")]
