"""Write a spec template (YAML with each key's description as a comment) from a schema's default."""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq


def _commented(value: Any, schema: dict[str, Any], indent: int) -> Any:
    if isinstance(value, dict):
        out = CommentedMap()
        props = schema.get("properties", {})
        for key, child in value.items():
            sub = props.get(key, {})
            out[key] = _commented(child, sub, indent + 2)
            doc = sub.get("description")
            if doc:
                if isinstance(child, dict):
                    out.yaml_set_comment_before_after_key(key, before=doc, indent=indent)
                else:
                    out.yaml_add_eol_comment(doc, key)
        return out
    if isinstance(value, list):
        seq = CommentedSeq(value)
        seq.fa.set_flow_style()
        return seq
    return value


def render_template(schema: dict[str, Any], header: str) -> str:
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    buf = io.StringIO()
    buf.write("".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()))
    yaml.dump(_commented(schema["default"], schema, 0), buf)
    return buf.getvalue()
