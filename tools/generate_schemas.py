#!/usr/bin/env python3
"""Maintainer tool: regenerate (or --check) a skill directory's schemas, templates, manifest and SKILL.md tables.

Same code path as `tao-skill schemas generate|check`; usable before the CLI is installed:
    python tools/generate_schemas.py [--check] [SKILL_DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "runner"), str(ROOT / "model")]

from tao_skill.schemagen import check, generate  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("skill_dir", nargs="?", type=Path, default=ROOT)
    parser.add_argument("--check", action="store_true", help="report drift instead of writing; exit 1 on drift")
    args = parser.parse_args()
    if args.check:
        diff = check(args.skill_dir)
        sys.stdout.writelines(diff)
        print("in sync" if not diff else "drift: run tools/generate_schemas.py", file=sys.stderr)
        return 1 if diff else 0
    for path in generate(args.skill_dir):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
