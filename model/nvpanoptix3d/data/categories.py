"""The 3D-FRONT / Matterport3D category list (13 classes, 0 = free space / void).

Facts (ids, names, colours, thing/stuff split) from the public Uni-3D and TAO category tables, recorded
in ``docs/data-format.md``. ``meta/colormap.json`` holds the same list; a dataset may supply its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np


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


def _read_label_map(path: Path) -> list:
    """The JSON list of a colormap.json, or a DataError naming the file and the problem."""
    try:
        rows = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"label map {path} does not exist (expected meta/colormap.json)") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"label map {path} is not valid JSON: {exc}") from None
    if not isinstance(rows, list):
        raise DataError(f"label map {path} must be a JSON list of categories")
    return rows


def load_colormap(path: str | Path) -> list[Category]:
    """Categories from a colormap.json (list of {id, name, color, isthing[, trainId]})."""
    path = Path(path)
    rows = _read_label_map(path)
    if not rows:
        raise DataError(f"label map {path} must be a non-empty JSON list of categories")
    out = []
    for i, row in enumerate(rows):
        try:
            cid = int(row.get("trainId", row["id"]))
            out.append(Category(cid, str(row["name"]), tuple(int(c) for c in row["color"]), bool(row["isthing"])))
        except (KeyError, TypeError, ValueError):
            raise DataError(f"label map {path}: entry {i} needs id, name, color [r,g,b] and isthing") from None
    return out


def load_label_lut(path: str | Path | None, num_classes: int) -> np.ndarray:
    """Lookup table raw label id -> train id from a colormap.json (``id`` -> ``trainId``; identity without one).

    Entries of the table are -1 for ids the label map does not list; 0 (free space / void) always maps to 0.
    A train id outside ``[0, num_classes)`` is an error, because the network has no output for it.
    """
    if not path:
        lut = np.arange(num_classes, dtype=np.int64)
        return lut
    path = Path(path)
    rows = _read_label_map(path)
    pairs = []
    for i, row in enumerate(rows):
        try:
            raw, train = int(row["id"]), int(row.get("trainId", row["id"]))
        except (KeyError, TypeError, ValueError):
            raise DataError(f"label map {path}: entry {i} needs an integer id (and optionally trainId)") from None
        if not 0 <= train < num_classes:
            raise DataError(f"label map {path}: entry {i} ({row.get('name', '?')}) has trainId {train}, expected "
                            f"0..{num_classes - 1} (model.sem_seg_head.num_classes = {num_classes})")
        if raw < 0:
            raise DataError(f"label map {path}: entry {i} has a negative id {raw}")
        pairs.append((raw, train))
    lut = np.full(max([0, *(r for r, _ in pairs)]) + 1, -1, dtype=np.int64)
    lut[0] = 0
    for raw, train in pairs:
        lut[raw] = train
    return lut


def map_labels(labels: np.ndarray, lut: np.ndarray, where: str | Path) -> np.ndarray:
    """Raw semantic labels -> train ids; a DataError names the file and the ids the label map lacks."""
    labels = np.asarray(labels).astype(np.int64)
    unknown = (labels < 0) | (labels >= lut.size)
    if not unknown.any():
        mapped = lut[labels]
        unknown = mapped < 0
        if not unknown.any():
            return mapped
    bad = sorted({int(v) for v in np.unique(labels[unknown])})[:10]
    raise DataError(f"{where}: semantic labels {bad} are not in the label map (dataset.label_map, "
                    f"meta/colormap.json) — expected ids it lists (0 = free space)")
