"""The 3D-FRONT / Matterport3D category list (13 classes, 0 = free space / void).

Facts (ids, names, colours, thing/stuff split) from the public Uni-3D and TAO category tables, recorded
in ``docs/data-format.md``. ``meta/colormap.json`` holds the same list; a dataset may supply its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    color: tuple[int, int, int]
    isthing: bool


FRONT3D_CATEGORIES: tuple[Category, ...] = (
    Category(1, "cabinet", (220, 20, 60), True),
    Category(2, "bed", (255, 0, 0), True),
    Category(3, "chair", (0, 0, 142), True),
    Category(4, "sofa", (0, 0, 70), True),
    Category(5, "table", (0, 60, 100), True),
    Category(6, "desk", (0, 80, 100), True),
    Category(7, "dresser", (0, 0, 230), True),
    Category(8, "lamp", (119, 11, 32), True),
    Category(9, "other", (190, 50, 60), True),
    Category(10, "wall", (102, 102, 156), False),
    Category(11, "floor", (128, 64, 128), False),
    Category(12, "ceiling", (70, 70, 70), False),
)


def colormap_json(categories: tuple[Category, ...] = FRONT3D_CATEGORIES) -> str:
    rows = [{"id": c.id, "trainId": c.id, "name": c.name, "color": list(c.color), "isthing": int(c.isthing)}
            for c in categories]
    return json.dumps(rows, indent=1) + "\n"


class DataError(ValueError):
    """A dataset file is missing or malformed; the message names the file and what was expected."""


def load_colormap(path: str | Path) -> list[Category]:
    """Categories from a colormap.json (list of {id, name, color, isthing[, trainId]})."""
    path = Path(path)
    try:
        rows = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"label map {path} does not exist (expected meta/colormap.json)") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"label map {path} is not valid JSON: {exc}") from None
    if not isinstance(rows, list) or not rows:
        raise DataError(f"label map {path} must be a non-empty JSON list of categories")
    out = []
    for i, row in enumerate(rows):
        try:
            cid = int(row.get("trainId", row["id"]))
            out.append(Category(cid, str(row["name"]), tuple(int(c) for c in row["color"]), bool(row["isthing"])))
        except (KeyError, TypeError, ValueError):
            raise DataError(f"label map {path}: entry {i} needs id, name, color [r,g,b] and isthing") from None
    return out
