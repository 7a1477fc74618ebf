"""A static PNG of a reconstruction (for terminals and agents, who cannot rotate a mesh): a small software
rasteriser in NumPy, no GPU, no display.

Two views side by side: the camera's own view of the mesh and a view from above and to the side (40° yaw,
30° elevation) that shows the room's depth. Faces are flat-shaded (headlight Lambert, both sides lit) in
the mean colour of their vertices; visibility by a z-buffer over points sampled on each face (the number
of samples follows the face's projected area, so the surface is closed at the image's resolution).
Mesh coordinates are the inference mesh's camera frame: x right, y down, z forward (metres).
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

BACKGROUND = (244, 244, 246)
_MAX_STEPS = 12  # grid steps per face edge; larger faces are split first


def _rotation(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """World-to-view rotation of a camera orbiting the mesh: yaw about the up axis, then pitch down."""
    a, b = math.radians(yaw_deg), math.radians(pitch_deg)
    ry = np.array([[math.cos(a), 0, -math.sin(a)], [0, 1, 0], [math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), math.sin(b)], [0, -math.sin(b), math.cos(b)]])
    return rx @ ry


def _barycentric_patterns() -> dict[int, np.ndarray]:
    """For k = 1.._MAX_STEPS: the (u, v, w) points of a k-step triangular grid (k = 1: the centroid)."""
    out = {1: np.array([[1 / 3, 1 / 3, 1 / 3]])}
    for k in range(2, _MAX_STEPS + 1):
        pts = [(i / k, j / k) for i in range(k + 1) for j in range(k + 1 - i)]
        uv = np.array(pts, dtype=np.float64)
        out[k] = np.column_stack([uv, 1 - uv.sum(1)])
    return out


_PATTERNS = _barycentric_patterns()


def render(vertices: np.ndarray, faces: np.ndarray, colors: np.ndarray, *, size: tuple[int, int] = (480, 360),
           yaw_deg: float = 0.0, pitch_deg: float = 0.0, fov_deg: float = 50.0,
           background: tuple[int, int, int] = BACKGROUND) -> np.ndarray:
    """One view (H, W, 3) uint8 of a coloured triangle mesh, framed on its bounding box."""
    w, h = size
    img = np.empty((h, w, 3), dtype=np.uint8)
    img[:] = background
    if len(faces) == 0:
        return img
    v = vertices.astype(np.float64)
    lo, hi = v.min(0), v.max(0)
    center, radius = (lo + hi) / 2, max(float(np.linalg.norm(hi - lo)) / 2, 1e-6)
    half = math.radians(fov_deg) / 2
    dist = radius / math.sin(half) * 0.85  # the bounding sphere overstates a flat room's extent
    p = (v - center) @ _rotation(yaw_deg, pitch_deg).T
    p[:, 2] += dist
    focal = 0.5 * min(w, h) / math.tan(half)
    z = np.maximum(p[:, 2], 1e-6)
    xy = np.column_stack([focal * p[:, 0] / z + w / 2, focal * p[:, 1] / z + h / 2])

    tri = p[faces]  # (F, 3, 3) view space
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    to_eye = -tri.mean(1)
    to_eye /= np.maximum(np.linalg.norm(to_eye, axis=1, keepdims=True), 1e-12)
    shade = 0.3 + 0.7 * np.abs((normal * to_eye).sum(1))
    face_rgb = colors[faces].astype(np.float64).mean(1) * shade[:, None]

    pts3 = np.concatenate([xy[faces], z[faces][..., None]], axis=2)  # (F, 3, 3): pixel x, y and depth
    pts3, face_rgb = _split_large(pts3, face_rgb)
    t2 = pts3[..., :2]
    area = 0.5 * np.abs((t2[:, 1, 0] - t2[:, 0, 0]) * (t2[:, 2, 1] - t2[:, 0, 1])
                        - (t2[:, 2, 0] - t2[:, 0, 0]) * (t2[:, 1, 1] - t2[:, 0, 1]))
    edge = np.max(np.linalg.norm(t2 - np.roll(t2, 1, axis=1), axis=2), axis=1)
    # sample spacing <= 1.25 px; the few pixels rounding skips are filled from their neighbours
    steps = np.clip(np.ceil(np.maximum(edge, np.sqrt(2 * area)) / 1.25), 1, _MAX_STEPS).astype(np.int64)
    pix_all, depth_all, face_all = [], [], []
    for k in np.unique(steps):
        sel = np.nonzero(steps == k)[0]
        pts = np.einsum("sk,fkd->fsd", _PATTERNS[int(k)], pts3[sel])
        px = np.round(pts[..., 0]).astype(np.int64)
        py = np.round(pts[..., 1]).astype(np.int64)
        ok = (px >= 0) & (px < w) & (py >= 0) & (py < h)
        pix_all.append((py * w + px)[ok])
        depth_all.append(pts[..., 2][ok])
        face_all.append(np.broadcast_to(sel[:, None], px.shape)[ok])
    pix, depth, face = np.concatenate(pix_all), np.concatenate(depth_all), np.concatenate(face_all)
    # z-buffer: write far to near, so the nearest sample of a pixel is written last (NumPy assigns repeated
    # indices in order)
    order = np.argsort(-depth, kind="stable")
    img.reshape(-1, 3)[pix[order]] = np.clip(face_rgb[face[order]], 0, 255).astype(np.uint8)
    covered = np.zeros(h * w, dtype=bool)
    covered[pix] = True
    return _fill_pinholes(img, covered.reshape(h, w))


def _fill_pinholes(img: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """Uncovered pixels with at least 3 covered 4-neighbours (gaps between sample points, not background)
    take the mean of those neighbours."""
    pad = np.pad(covered, 1)
    rgb = np.pad(img.astype(np.int32), ((1, 1), (1, 1), (0, 0)))
    shifts = [(0, 1), (2, 1), (1, 0), (1, 2)]
    count = sum(pad[a:a + covered.shape[0], b:b + covered.shape[1]].astype(np.int32) for a, b in shifts)
    total = sum(rgb[a:a + covered.shape[0], b:b + covered.shape[1]]
                * pad[a:a + covered.shape[0], b:b + covered.shape[1], None] for a, b in shifts)
    hole = ~covered & (count >= 3)
    img[hole] = (total[hole] / count[hole, None]).astype(np.uint8)
    return img


def _split_large(tri: np.ndarray, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split faces whose projected edges exceed ``_MAX_STEPS`` pixels into four (midpoints) until none does,
    so the sampling pattern closes every face; depth is interpolated in screen space (close enough here)."""
    for _ in range(12):
        edge = np.max(np.linalg.norm(tri[..., :2] - np.roll(tri[..., :2], 1, axis=1), axis=2), axis=1)
        big = edge > _MAX_STEPS
        if not big.any():
            break
        t = tri[big]
        a, b, c = t[:, 0], t[:, 1], t[:, 2]
        ab, bc, ca = (a + b) / 2, (b + c) / 2, (c + a) / 2
        kids = np.stack([np.stack(x, 1) for x in ((a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca))], 1)
        tri = np.concatenate([tri[~big], kids.reshape(-1, 3, 3)])
        rgb = np.concatenate([rgb[~big], np.repeat(rgb[big], 4, axis=0)])
    return tri, rgb


def decimate(vertices: np.ndarray, faces: np.ndarray, colors: np.ndarray, max_faces: int):
    """Vertex clustering down to about ``max_faces`` faces (for embedding large meshes in a page)."""
    if len(faces) <= max_faces:
        return vertices, faces, colors
    lo, hi = vertices.min(0), vertices.max(0)
    cells = max(8, int(256 * math.sqrt(max_faces / len(faces))))
    for _ in range(8):
        q = np.floor((vertices - lo) / np.maximum(hi - lo, 1e-9) * (cells - 1)).astype(np.int64)
        key = (q[:, 0] * cells + q[:, 1]) * cells + q[:, 2]
        uniq, inverse = np.unique(key, return_inverse=True)
        f = inverse[faces]
        f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])]
        if len(f) <= max_faces or cells <= 8:
            break
        cells = max(8, int(cells * 0.8))
    counts = np.bincount(inverse, minlength=len(uniq)).astype(np.float64)[:, None]
    v = np.zeros((len(uniq), 3))
    np.add.at(v, inverse, vertices)
    c = np.zeros((len(uniq), 3))
    np.add.at(c, inverse, colors.astype(np.float64))
    return (v / counts).astype(np.float32), f.astype(np.int32), np.round(c / counts).astype(np.uint8)


def preview_image(vertices: np.ndarray, faces: np.ndarray, colors: np.ndarray,
                  size: tuple[int, int] = (480, 360)) -> np.ndarray:
    """The camera view and the elevated side view, side by side, separated by a 4-pixel gutter."""
    vertices, faces, colors = decimate(vertices, faces, colors, 400_000)
    front = render(vertices, faces, colors, size=size)
    side = render(vertices, faces, colors, size=size, yaw_deg=40.0, pitch_deg=-30.0)
    gutter = np.full((size[1], 4, 3), 255, dtype=np.uint8)
    return np.concatenate([front, gutter, side], axis=1)


def write_preview(path: Path, vertices: np.ndarray, faces: np.ndarray, colors: np.ndarray) -> None:
    """``preview_image`` as a PNG, written atomically."""
    from PIL import Image  # noqa: PLC0415

    from nvpanoptix3d.engine.fsutil import atomic_write_bytes  # noqa: PLC0415

    buf = io.BytesIO()
    Image.fromarray(preview_image(vertices, faces, colors), "RGB").save(buf, format="PNG", optimize=True)
    atomic_write_bytes(Path(path), buf.getvalue())
