"""``<results_dir>/report.html``: one self-contained page of a train, evaluate or inference job.

Everything the page shows is inside it (images as data URIs, meshes as base64 arrays, three.js inlined),
so it opens from disk or as an e-mail attachment with no network. Sections, where the job has them:

* summary: status, monitor, best and last KPIs;
* inference: for each image the input, the 2D panoptic overlay, the depth map, an interactive 3D view of
  the panoptic mesh (three.js: drag to orbit, wheel to zoom, right-drag to pan) and its static preview
  (``<name>_mesh_preview.png``, written beside the mesh by this module);
* curves: KPIs over validations (status.json), training loss and learning rates per step (the CSV log);
* per-class table of the last validation or the evaluation.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import logging
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from nvpanoptix3d.report.charts import line_chart

log = logging.getLogger("nvpanoptix3d")

REPORT_NAME = "report.html"
MAX_IMAGES = 12  # images shown in full; the others are listed by name
MAX_MESH_FACES = 150_000  # larger meshes are decimated for the page (the PLY keeps every face)
VIEWER_BACKGROUND = "#1b2230"
KPI_ORDER = ("PRQ", "RSQ", "RRQ", "PRQ_th", "PRQ_st", "PQ", "SQ", "RQ", "AbsRel", "RMSE", "delta1", "val_loss",
             "train_loss")


# ----------------------------------------------------------------------------------------------- inputs
def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _csv_rows(results_dir: Path) -> list[dict[str, str]]:
    from nvpanoptix3d.engine.loggers import log_dirs  # noqa: PLC0415

    folder = log_dirs(results_dir)["csv"]
    if folder is None or not (folder / "metrics.csv").exists():
        return []
    with (folder / "metrics.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def _png_uri(array: np.ndarray, *, max_width: int = 360) -> str:
    from PIL import Image  # noqa: PLC0415

    img = Image.fromarray(array)
    if img.width > max_width:
        img = img.resize((max_width, max(1, round(img.height * max_width / img.width))), Image.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _load_rgb(path: Path) -> np.ndarray | None:
    from PIL import Image  # noqa: PLC0415

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except OSError:
        return None


def depth_colormap(depth: np.ndarray) -> np.ndarray:
    """Depth (metres) as an RGB image: near = yellow, far = dark blue (viridis anchors), invalid = black."""
    anchors = np.array([[253, 231, 37], [94, 201, 98], [33, 145, 140], [59, 82, 139], [68, 1, 84]], dtype=np.float64)
    valid = np.isfinite(depth) & (depth > 0)
    out = np.zeros((*depth.shape, 3), dtype=np.uint8)
    if not valid.any():
        return out
    lo, hi = np.percentile(depth[valid], [1, 99])
    t = np.clip((depth - lo) / max(hi - lo, 1e-6), 0, 1) * (len(anchors) - 1)
    i = np.minimum(np.floor(t).astype(np.int64), len(anchors) - 2)
    f = (t - i)[..., None]
    rgb = anchors[i] * (1 - f) + anchors[i + 1] * f
    out[valid] = rgb[valid].astype(np.uint8)
    return out


def _overlay(image: np.ndarray | None, color: np.ndarray) -> np.ndarray:
    """The panoptic colours over the input (50 %), where a segment is; the input alone elsewhere."""
    from PIL import Image  # noqa: PLC0415

    if image is None:
        return color
    base = np.asarray(Image.fromarray(image).resize((color.shape[1], color.shape[0]), Image.BILINEAR))
    seg = color.any(axis=2, keepdims=True)
    return np.where(seg, (0.5 * base + 0.5 * color).astype(np.uint8), base)


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


# ---------------------------------------------------------------------------------------------- sections
def _summary(status: dict[str, Any] | None, action: str, extra: dict[str, str]) -> str:
    rows = [("action", action), *extra.items()]
    if status:
        rows.append(("status", status.get("status", "?") + (f" ({status['message']})" if status.get("message") else "")))
        mon = status.get("monitor") or {}
        if mon:
            rows.append(("monitor", f"{mon.get('metric')} ({mon.get('direction')})"))
        best = status.get("best")
        if best:
            rows.append(("best", f"{best['metric']} {best['value']:.4f} at epoch {best['epoch']}, step {best['step']}"))
        rows.append(("validations", str(len(status.get("entries") or []))))
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    out = f'<section id="summary"><h2>Summary</h2><table class="kv">{body}</table>'
    last = (status or {}).get("entries") or []
    if last:
        kpi = last[-1].get("kpi") or {}
        keys = [k for k in KPI_ORDER if isinstance(kpi.get(k), (int, float))]
        if keys:
            out += ('<table class="grid"><tr><th>last</th>' + "".join(f"<th>{k}</th>" for k in keys) + "</tr><tr><td>"
                    f"epoch {last[-1].get('epoch')} step {last[-1].get('step')}</td>"
                    + "".join(f"<td>{kpi[k]:.4g}</td>" for k in keys) + "</tr></table>")
    return out + "</section>"


def _curves(status: dict[str, Any] | None, rows: list[dict[str, str]]) -> str:
    charts = []
    entries = (status or {}).get("entries") or []
    if entries:
        def series(keys: tuple[str, ...]) -> dict[str, list[tuple[float, float]]]:
            return {k: [(e["step"], e["kpi"][k]) for e in entries if isinstance(e.get("kpi", {}).get(k), (int, float))]
                    for k in keys}

        charts.append(line_chart(series(("PRQ", "RSQ", "RRQ", "PQ", "SQ", "RQ")), title="KPIs at each validation"))
        charts.append(line_chart(series(("val_loss", "train_loss")), title="losses at each validation"))
    if rows:
        def col(name: str) -> list[tuple[float, float]]:
            return [(float(r["step"]), float(r[name])) for r in rows if r.get(name) not in (None, "")]

        terms = sorted(c for c in rows[0] if c.startswith("train/loss_"))
        charts.append(line_chart({"train_loss": col("train_loss"), **{t[6:]: col(t) for t in terms}},
                                 title="training loss per step", log_y=True))
        lrs = sorted(c for c in rows[0] if c.startswith("lr/") or c.startswith("lr-"))
        charts.append(line_chart({c: col(c) for c in lrs}, title="learning rate per parameter group"))
        thr = [c for c in rows[0] if c.endswith("samples_per_sec") and c.startswith("train")]
        if thr:
            charts.append(line_chart({c.split("/")[-1]: col(c) for c in thr}, title="training throughput"))
    charts = [c for c in charts if c]
    if not charts:
        return ""
    return '<section id="curves"><h2>Curves</h2><div class="charts">' + "".join(charts) + "</div></section>"


def _per_class(per_class: dict[str, Any] | None, names: dict[int, str]) -> str:
    if not per_class:
        return ""
    blocks = []
    for part, table in per_class.items():
        if not isinstance(table, dict) or not table:
            continue
        metrics: list[str] = []
        for values in table.values():
            metrics += [m for m in values if m not in metrics]
        head = "<tr><th>class</th>" + "".join(f"<th>{html.escape(m)}</th>" for m in metrics) + "</tr>"
        body = []
        for cid in sorted(table, key=lambda c: int(c) if str(c).isdigit() else 0):
            label = names.get(int(cid), "") if str(cid).isdigit() else ""
            cells = "".join(f"<td>{table[cid][m]:.3f}</td>" if isinstance(table[cid].get(m), (int, float))
                            else "<td>-</td>" for m in metrics)
            body.append(f"<tr><td>{html.escape(str(cid))} {html.escape(label)}</td>{cells}</tr>")
        blocks.append(f"<h3>{html.escape(part.upper())}</h3><table class=\"grid\">{head}{''.join(body)}</table>")
    return '<section id="per-class"><h2>Per class</h2>' + "".join(blocks) + "</section>" if blocks else ""


def _mesh_payload(mesh_path: Path, preview_path: Path, idx: int) -> tuple[str, str, dict[str, int]] | None:
    from nvpanoptix3d.engine.outputs import read_ply  # noqa: PLC0415
    from nvpanoptix3d.report.preview import decimate, write_preview  # noqa: PLC0415

    try:
        verts, faces, colors = read_ply(mesh_path)
    except (OSError, ValueError, StopIteration):
        return None
    if len(faces) == 0:
        return None
    if not preview_path.exists():
        write_preview(preview_path, verts, faces, colors)
    v, f, c = decimate(verts, faces, colors, MAX_MESH_FACES)
    data = {"positions": _b64(v.astype("<f4")), "colors": _b64(c.astype(np.uint8)),
            "indices": _b64(f.astype("<u4"))}
    script = f'<script type="application/json" id="mesh-{idx}">{json.dumps(data)}</script>'
    return script, f"mesh-{idx}", {"vertices": int(len(verts)), "faces": int(len(faces)), "shown_faces": int(len(f))}


def _inference(results_dir: Path) -> tuple[str, list[str]]:
    out_dir = results_dir / "inference"
    index = _read_json(out_dir / "index.json")
    if not isinstance(index, dict) or not index.get("images"):
        return "", []
    cards, scripts = [], []
    images = index["images"]
    for i, entry in enumerate(images[:MAX_IMAGES]):
        files = entry.get("files", {})
        image = _load_rgb(Path(entry.get("image", "")))
        color = _load_rgb(out_dir / files.get("panoptic_2d_color", "-"))
        panels = []
        if image is not None:
            panels.append(("input", f'<img alt="input" src="{_png_uri(image)}">'))
        if color is not None:
            panels.append(("2D panoptic", f'<img alt="2D panoptic overlay" src="{_png_uri(_overlay(image, color))}">'))
        depth_file = out_dir / files.get("depth_npy", "-")
        if depth_file.exists():
            depth = np.load(depth_file)
            panels.append((f"depth {np.nanmin(depth):.2f}–{np.nanmax(depth):.2f} m",
                           f'<img alt="depth" src="{_png_uri(depth_colormap(depth))}">'))
        mesh_file = files.get("mesh")
        if mesh_file:
            name = Path(mesh_file).name.removesuffix("_mesh.ply")
            preview = out_dir / Path(mesh_file).parent / f"{name}_mesh_preview.png"
            payload = _mesh_payload(out_dir / mesh_file, preview, i)
            if payload is None:
                panels.append(("3D", '<p class="note">empty reconstruction (no surface at iso_recon_value)</p>'))
            else:
                script, mesh_id, counts = payload
                scripts.append(script)
                shown = (f", {counts['shown_faces']:,} shown" if counts["shown_faces"] != counts["faces"] else "")
                panels.append((f"3D panoptic mesh ({counts['faces']:,} faces{shown})",
                               f'<div class="viewer"><canvas class="mesh-view" data-mesh="{mesh_id}" width="360" '
                               f'height="270"></canvas><button type="button" class="reset">reset view</button>'
                               f'<p class="no-webgl-note">WebGL is not available: see the static preview.</p></div>'))
                prev = _load_rgb(preview)
                if prev is not None:
                    panels.append(("static preview (camera view | from above)",
                                   f'<img class="preview" alt="static preview" src="{_png_uri(prev, max_width=600)}">'))
        segs = entry.get("segments_3d") or entry.get("segments_2d") or []
        title = (f"{html.escape(entry.get('name', '?'))} <span class=\"note\">{len(segs)} segments"
                 + (", default intrinsics" if entry.get("default_intrinsic") else "") + "</span>")
        body = "".join(f'<figure><figcaption>{html.escape(cap)}</figcaption>{content}</figure>'
                       for cap, content in panels)
        cards.append(f'<article class="image"><h3>{title}</h3><div class="panels">{body}</div></article>')
    rest = images[MAX_IMAGES:]
    more = (f'<p class="note">{len(rest)} more images in inference/index.json: '
            + html.escape(", ".join(e.get("name", "?") for e in rest[:50])) + ("…" if len(rest) > 50 else "") + "</p>"
            if rest else "")
    head = (f'<p class="note">{len(images)} images, {index.get("stage", "?")} stage, mode {index.get("mode", "?")}, '
            f'runtime {index.get("runtime", "pytorch")}, checkpoint {html.escape(str(index.get("checkpoint", "")))}</p>')
    return '<section id="inference"><h2>Inference</h2>' + head + "".join(cards) + more + "</section>", scripts


# ------------------------------------------------------------------------------------------------- page
_CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#111827;background:#fafafa}
header{background:#111827;color:#f9fafb;padding:14px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#cbd5e1}main{padding:8px 24px 40px}h2{margin:24px 0 8px;font-size:17px}
table{border-collapse:collapse;margin:6px 0}td,th{padding:3px 10px;border-bottom:1px solid #e5e7eb;text-align:left}
table.grid td{font-variant-numeric:tabular-nums}table.kv th{color:#4b5563;font-weight:500}
.charts{display:flex;flex-wrap:wrap;gap:12px}.chart{background:#fff;border:1px solid #e5e7eb;border-radius:6px}
.chart-title{font-size:13px;font-weight:600}.tick{font-size:10px;fill:#6b7280}.legend{font-size:10px;fill:#374151}
article.image{background:#fff;border:1px solid #e5e7eb;border-radius:6px;padding:8px 12px;margin:10px 0}
article.image h3{margin:4px 0 8px;font-size:14px}.panels{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-start}
figure{margin:0}figcaption{font-size:12px;color:#4b5563;margin-bottom:3px}figure img{display:block;width:360px;
image-rendering:auto;border-radius:3px}figure img.preview{width:600px}.note{color:#6b7280;font-size:12px}
.viewer{position:relative;width:360px;height:270px}canvas.mesh-view{width:360px;height:270px;display:block;
border-radius:3px;background:BG;cursor:grab}.viewer .reset{position:absolute;right:6px;bottom:6px;font-size:11px}
.no-webgl-note{display:none}.viewer.no-webgl .no-webgl-note{display:block;position:absolute;top:90px;left:20px;
color:#f9fafb}
""".replace("BG", VIEWER_BACKGROUND)

_VIEWER_JS = """
(function () {
  if (typeof THREE === "undefined") return;
  THREE.ColorManagement.enabled = false;  // show the mesh's colours as they are, only shaded
  function decode(text, Type) {
    var bin = atob(text), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Type(bytes.buffer);
  }
  document.querySelectorAll("canvas.mesh-view").forEach(function (canvas) {
    var holder = canvas.parentElement, renderer;
    try {
      renderer = new THREE.WebGLRenderer({canvas: canvas, antialias: true, preserveDrawingBuffer: true});
    } catch (err) {
      holder.classList.add("no-webgl"); canvas.dataset.state = "no-webgl"; return;
    }
    var data = JSON.parse(document.getElementById(canvas.dataset.mesh).textContent);
    renderer.outputColorSpace = THREE.LinearSRGBColorSpace;
    renderer.setPixelRatio(window.devicePixelRatio || 1);
    renderer.setSize(canvas.clientWidth, canvas.clientHeight, false);
    renderer.setClearColor(new THREE.Color("BG"), 1);
    var geometry = new THREE.BufferGeometry();
    geometry.setAttribute("position", new THREE.BufferAttribute(decode(data.positions, Float32Array), 3));
    geometry.setAttribute("color", new THREE.BufferAttribute(decode(data.colors, Uint8Array), 3, true));
    geometry.setIndex(new THREE.BufferAttribute(decode(data.indices, Uint32Array), 1));
    geometry.computeVertexNormals();
    geometry.computeBoundingBox();
    var scene = new THREE.Scene();
    scene.add(new THREE.Mesh(geometry, new THREE.MeshLambertMaterial({vertexColors: true, side: THREE.DoubleSide})));
    var box = geometry.boundingBox, center = box.getCenter(new THREE.Vector3());
    var radius = Math.max(box.getSize(new THREE.Vector3()).length() / 2, 1e-3);
    var camera = new THREE.PerspectiveCamera(50, canvas.clientWidth / canvas.clientHeight, radius / 100, radius * 20);
    camera.up.set(0, -1, 0);  // the mesh is in the camera frame: x right, y down, z forward
    // three.js lights are physical (Lambert = albedo / pi): ambient + headlight sum to 1 on a facing surface
    var light = new THREE.DirectionalLight(0xffffff, 0.55 * Math.PI);
    scene.add(new THREE.AmbientLight(0xffffff, 0.45 * Math.PI), camera);
    camera.add(light);
    var home = center.clone().add(new THREE.Vector3(0, 0, -2 * radius));
    var controls = new THREE.OrbitControls(camera, canvas);
    function reset() { camera.position.copy(home); controls.target.copy(center); controls.update(); draw(); }
    function draw() { renderer.render(scene, camera); }
    controls.addEventListener("change", draw);
    holder.querySelector(".reset").addEventListener("click", reset);
    reset();
    canvas.dataset.state = "drawn";
  });
})();
""".replace("BG", VIEWER_BACKGROUND)


def _viewer_bundle() -> str:
    return resources.files("nvpanoptix3d.report").joinpath("assets/three-viewer.min.js").read_text(encoding="utf-8")


def build_report(results_dir: Path, action: str, *, class_names: dict[int, str] | None = None,
                 job_id: str | None = None) -> str:
    """The page's HTML for the job whose outputs are in ``results_dir``."""
    results_dir = Path(results_dir)
    status = _read_json(results_dir / "status.json")
    status = status if isinstance(status, dict) else None
    evaluation = _read_json(results_dir / "evaluation.json")
    extra = {"results": str(results_dir)}
    if job_id:
        extra = {"job": job_id, **extra}
    if isinstance(evaluation, dict):
        extra.update({"checkpoint": str(evaluation.get("checkpoint", "")), "split": str(evaluation.get("split", "")),
                      "runtime": str(evaluation.get("runtime", ""))})
    sections = [_summary(status, action, extra)]
    scripts: list[str] = []
    if action == "inference":
        section, scripts = _inference(results_dir)
        sections.append(section or '<section><p class="note">no inference/index.json: nothing to show</p></section>')
    if action == "train":
        sections.append(_curves(status, _csv_rows(results_dir)))
    per_class = (evaluation or {}).get("per_class") if isinstance(evaluation, dict) else None
    if per_class is None and status and status.get("entries"):
        per_class = status["entries"][-1].get("per_class")
    sections.append(_per_class(per_class, class_names or {}))
    generated = datetime.now(timezone.utc).isoformat(timespec="seconds")
    title = f"NVPanoptix3D {action} report"
    viewer = (f"<script>{_viewer_bundle()}</script><script>{_VIEWER_JS}</script>" if scripts else "")
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width\"><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body><header><h1>{html.escape(title)}</h1>"
            f"<p>{html.escape(str(results_dir))} · generated {generated}</p></header><main>"
            + "".join(s for s in sections if s) + "</main>" + "".join(scripts) + viewer + "</body></html>\n")


REPORTED_ACTIONS = ("train", "evaluate", "inference")


def report_after_action(spec: Any, results_dir: Path, action: str) -> Path | None:
    """The entrypoint's last step for train, evaluate and inference: write the report, never fail the job."""
    import os  # noqa: PLC0415

    if action not in REPORTED_ACTIONS:
        return None
    try:
        from nvpanoptix3d.engine.evaluate import class_names  # noqa: PLC0415

        try:
            names = class_names(spec)
        except Exception:  # noqa: BLE001 - a missing colormap only loses the class names
            names = {}
        path = write_report(results_dir, action, class_names=names, job_id=os.environ.get("TAO_SKILL_JOB_ID"))
    except Exception as exc:  # noqa: BLE001 - the job's results stand without their report
        log.warning("could not write %s: %s: %s", REPORT_NAME, type(exc).__name__, exc)
        return None
    log.info("report: %s", path)
    return path


def write_report(results_dir: Path, action: str, *, class_names: dict[int, str] | None = None,
                 job_id: str | None = None) -> Path:
    """Write ``<results_dir>/report.html`` atomically and return its path."""
    from nvpanoptix3d.engine.fsutil import atomic_write_text  # noqa: PLC0415

    path = Path(results_dir) / REPORT_NAME
    atomic_write_text(path, build_report(results_dir, action, class_names=class_names, job_id=job_id))
    return path
