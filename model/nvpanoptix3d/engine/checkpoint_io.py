"""Checkpoint files: atomic writes, optional AES-GCM encryption, the ``latest.pth`` pointer, safe loading.

File format when ``encryption_key`` is set (all integers big-endian)::

    b"NVP3DENC" | version (1 byte) | log2(N), r, p of scrypt (3 bytes) | salt (16) | nonce (12) | ciphertext+tag

The key is derived from the passphrase with scrypt (N=2**14, r=8, p=1) and a fresh random salt per file;
the header is authenticated as associated data, so a flipped byte anywhere fails to decrypt. The
plaintext is the ``torch.save`` serialisation of the checkpoint dict. Without a key a checkpoint is a
plain ``torch.save`` ``.pth`` file. The passphrase is never logged or written anywhere.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import pickletools
import struct
import zipfile
from pathlib import Path
from typing import Any, Callable

import torch

from nvpanoptix3d.engine.errors import CheckpointError
from nvpanoptix3d.network.frustum3d.model import THREE_D_MODULES, is_3d_key, strip_wrapper_prefixes  # noqa: F401
from nvpanoptix3d.engine.fsutil import atomic_write_bytes

MAGIC = b"NVP3DENC"
VERSION = 1
NETWORK = "nvpanoptix3d"
LATEST = "latest.pth"
_HEADER = struct.Struct(">8sBBBB16s12s")
_SCRYPT = (14, 8, 1)  # log2(N), r, p: about 16 MiB and 50 ms per derivation
# Where a checkpoint dict keeps its weights: ours and TAO Lightning's `state_dict`; other trainers' names.
STATE_DICT_KEYS = ("state_dict", "model_state_dict", "model", "module")
# Tensors a Lightning checkpoint holds for training only (NVIDIA's `criterion.empty_weight`).
TRAINING_ONLY_PREFIXES = ("criterion.", "criterion_2d.", "criterion_3d.")
log = logging.getLogger("nvpanoptix3d")


def _derive(passphrase: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt  # noqa: PLC0415

    return Scrypt(salt=salt, length=32, n=2**log_n, r=r, p=p).derive(passphrase.encode("utf-8"))


def encrypt_bytes(data: bytes, passphrase: str) -> bytes:
    """Authenticated encryption of ``data`` with a key derived from ``passphrase`` (fresh salt and nonce)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: PLC0415

    salt, nonce = os.urandom(16), os.urandom(12)
    header = _HEADER.pack(MAGIC, VERSION, *_SCRYPT, salt, nonce)
    return header + AESGCM(_derive(passphrase, salt, *_SCRYPT)).encrypt(nonce, data, header)


def decrypt_bytes(blob: bytes, passphrase: str, source: str = "checkpoint") -> bytes:
    """Inverse of :func:`encrypt_bytes`; a wrong passphrase or a modified file raises CheckpointError."""
    from cryptography.exceptions import InvalidTag  # noqa: PLC0415
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: PLC0415

    if len(blob) < _HEADER.size + 16 or not blob.startswith(MAGIC):
        raise CheckpointError(f"{source} is not an encrypted NVPanoptix3D checkpoint")
    magic, version, log_n, r, p, salt, nonce = _HEADER.unpack_from(blob)
    if version != VERSION:
        raise CheckpointError(f"{source} uses encryption format version {version}; this build reads version {VERSION}")
    header = blob[: _HEADER.size]
    try:
        return AESGCM(_derive(passphrase, salt, log_n, r, p)).decrypt(nonce, blob[_HEADER.size:], header)
    except InvalidTag:
        raise CheckpointError(
            f"cannot decrypt {source}: wrong encryption_key (or the file was modified)") from None


def is_encrypted(path: str | os.PathLike) -> bool:
    with open(path, "rb") as fh:
        return fh.read(len(MAGIC)) == MAGIC


#: The entry of a checkpoint that says how to rebuild its network (see :func:`architecture_of`).
ARCHITECTURE = "architecture"


def architecture_of(config: dict[str, Any], stage: str | None) -> dict[str, Any]:
    """What rebuilds the network of a checkpoint written with spec ``config`` (a plain dict): the whole
    ``model`` section, the stage, image sizes, the voxel grid and size, and the classes.

    Why in the file: a checkpoint copied away from its job (or passed as ``--ptm``) still says which
    network its tensors belong to, so a tool or person can rebuild it without the job's spec."""
    model = dict(config.get("model") or {})
    backbone = dict(model.get("backbone") or {})
    backbone.pop("pretrained_model_path", None)  # a path of the machine that trained it, not architecture
    model["backbone"] = backbone
    ds = config.get("dataset") or {}
    f3d, proj = model.get("frustum3d") or {}, model.get("projection") or {}
    head = model.get("sem_seg_head") or {}
    return {
        "network": NETWORK,
        "stage": stage or ("3d" if ds.get("enable_3d") else "2d"),
        "model": model,
        "image_size": {"target_size": ds.get("target_size"), "reduced_target_size": ds.get("reduced_target_size"),
                       "depth_size": ds.get("depth_size")},
        "grid": {"grid_dimensions": f3d.get("grid_dimensions"), "frustum_dims": f3d.get("frustum_dims")},
        "voxel_size": proj.get("voxel_size"),
        "classes": {"num_classes": head.get("num_classes"), "num_thing_classes": ds.get("num_thing_classes"),
                    "contiguous_id": ds.get("contiguous_id")},
        "depth_range": [ds.get("depth_min"), ds.get("depth_max")],
    }


def read_architecture(path: str | os.PathLike, *, key: str | None = None) -> dict[str, Any] | None:
    """The ``architecture`` entry of a checkpoint (None for files written without one, e.g. NVIDIA's)."""
    arch = load_checkpoint(path, key=key).get(ARCHITECTURE)
    return arch if isinstance(arch, dict) else None


def save_checkpoint(checkpoint: dict[str, Any], path: str | os.PathLike, *, key: str | None = None) -> Path:
    """Serialise ``checkpoint`` (encrypted when ``key`` is set) and write it atomically to ``path``.

    A checkpoint that carries its spec (``config``, written by the Lightning module) also gets the
    :data:`ARCHITECTURE` entry, so the file alone says how to rebuild its network."""
    if isinstance(checkpoint.get("config"), dict) and ARCHITECTURE not in checkpoint:
        checkpoint = {**checkpoint, ARCHITECTURE: architecture_of(checkpoint["config"], checkpoint.get("stage"))}
    buf = io.BytesIO()
    torch.save(checkpoint, buf)
    data = buf.getvalue()
    if key:
        data = encrypt_bytes(data, key)
    return atomic_write_bytes(path, data, mode=0o600 if key else None)


def resolve_checkpoint(path: str | os.PathLike, what: str = "checkpoint") -> Path:
    """``path`` itself, or ``<path>/latest.pth`` when it is a results folder; missing files raise clearly."""
    if not str(path):
        raise CheckpointError(f"no {what} given")
    p = Path(path).expanduser()
    if p.is_dir():
        if (p / LATEST).is_file():
            return p / LATEST
        raise CheckpointError(f"{what} {p} is a folder without {LATEST}; pass a model_epoch_*_step_*.pth file")
    if not p.is_file():
        raise CheckpointError(f"{what} {p} does not exist")
    return p


def load_checkpoint(path: str | os.PathLike, *, key: str | None = None, what: str = "checkpoint",
                    trusted: bool = False) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (or a plain/Lightning ``.pth``) onto the CPU.

    Plain files are unpickled with ``weights_only=True`` (tensors and containers only) unless ``trusted``;
    other Python objects in them are read as inert :class:`ForeignObject` data (never executed). Encrypted
    files are authenticated, so their content is trusted. The weights end up under ``"state_dict"``
    whatever the layout (:func:`find_state_dict`: ours, TAO Lightning, ``{"model": ...}``,
    ``{"model_state_dict": ...}`` or a raw state dict); the other entries (``epoch``, ``tao_model``, ...)
    are kept. Raises CheckpointError naming the file on every failure.
    """
    p = resolve_checkpoint(path, what)
    try:
        blob = p.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read {what} {p}: {exc.strerror or exc}") from None
    encrypted = blob.startswith(MAGIC)
    if encrypted:
        if not key:
            raise CheckpointError(f"{what} {p} is encrypted: set encryption_key in the spec "
                                  "(or the TAO_SKILL_ENCRYPTION_KEY environment variable)")
        blob = decrypt_bytes(blob, key, f"{what} {p}")
    if not zipfile.is_zipfile(io.BytesIO(blob)):
        raise CheckpointError(f"{what} {p} is not a readable PyTorch checkpoint (not a torch.save archive)")
    try:
        obj = _torch_load(blob, weights_only=not (encrypted or trusted))
    except pickle.UnpicklingError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if "Unsupported global" in ln] or [type(exc).__name__]
        raise CheckpointError(f"{what} {p} holds Python objects that are not loaded from untrusted files "
                              f"({lines[0][:160]})") from None
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a corrupt file
        raise CheckpointError(f"{what} {p} is not a readable PyTorch checkpoint "
                              f"({type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''})") from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{what} {p} holds a {type(obj).__name__}, expected a checkpoint dict or a state dict")
    state = find_state_dict(obj)
    if state is None:
        raise CheckpointError(f"{what} {p} has no state dict (looked for a dict of tensors, or one under "
                              f"{', '.join(STATE_DICT_KEYS)}; keys: {', '.join(map(str, list(obj)[:8]))})")
    if state is not obj.get("state_dict"):
        obj = {**(obj if state is not obj else {}), "state_dict": state}
    net = obj.get("network")
    if net is not None and net != NETWORK:
        raise CheckpointError(f"{what} {p} belongs to network `{net}`, not {NETWORK}")
    return obj


class ForeignObject:
    """Stands in for a Python object of a checkpoint that is not unpickled (a training framework's config,
    a NumPy scalar, ...): its arguments and state are kept as plain data and none of its code runs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs

    def __setstate__(self, state: Any) -> None:
        self.state = state


def pickled_globals(blob: bytes) -> list[str]:
    """The ``module.name`` of every class or function a ``torch.save`` archive's pickle refers to (read from
    its opcodes, nothing is executed)."""
    names: set[str] = set()
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        for member in zf.namelist():
            if member.endswith("data.pkl"):
                for op, arg, _ in pickletools.genops(zf.read(member)):
                    if op.name == "GLOBAL":
                        names.add(str(arg).replace(" ", "."))
    return sorted(names)


def _torch_load(blob: bytes, *, weights_only: bool) -> Any:
    """``torch.load`` onto the CPU. With ``weights_only``, a file that refers to classes torch does not allow
    (TAO/Lightning files may hold configs or NumPy values next to the weights) is read once more with
    every such class replaced by :class:`ForeignObject`; tensors and containers load as usual."""
    try:
        return torch.load(io.BytesIO(blob), map_location="cpu", weights_only=weights_only)
    except pickle.UnpicklingError as exc:
        if not weights_only or "Unsupported global" not in str(exc):
            raise
    names = pickled_globals(blob)
    with torch.serialization.safe_globals([(ForeignObject, n) for n in names]):
        obj = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    log.info("checkpoint: objects of %s in the file were read as plain data, not unpickled",
             _name_some(names, 6))
    return obj


def _is_tensor_dict(obj: Any) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(isinstance(v, torch.Tensor) for v in obj.values())


def find_state_dict(obj: dict[str, Any], depth: int = 2) -> dict[str, torch.Tensor] | None:
    """The weights of a checkpoint dict: ``obj["state_dict"]`` (ours, TAO Lightning), a dict of tensors under
    another name of STATE_DICT_KEYS (``model``, ``model_state_dict``, ``module``; nested up to ``depth``), or
    ``obj`` itself when it is a raw state dict. None when there is none."""
    if isinstance(obj.get("state_dict"), dict) and (not obj["state_dict"] or _is_tensor_dict(obj["state_dict"])):
        return obj["state_dict"]
    if _is_tensor_dict(obj):
        return obj
    if depth > 0:
        for key in STATE_DICT_KEYS:
            inner = obj.get(key)
            if isinstance(inner, dict):
                found = find_state_dict(inner, depth - 1)
                if found is not None:
                    return found
    return None


def update_latest(results_dir: str | os.PathLike, checkpoint: str | os.PathLike) -> Path:
    """Point ``<results_dir>/latest.pth`` at ``checkpoint`` atomically (a hard link; a copy where links fail)."""
    results_dir, checkpoint = Path(results_dir), Path(checkpoint)
    target = results_dir / LATEST
    tmp = results_dir / f".{LATEST}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    try:
        os.link(checkpoint, tmp)
    except OSError:
        atomic_write_bytes(tmp, checkpoint.read_bytes())
    os.replace(tmp, target)
    return target


# One rule for "is this a 3D-stage parameter", shared with the network (nvpanoptix3d.network.frustum3d).
is_3d_param = is_3d_key
_strip = strip_wrapper_prefixes


def _normalise_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {_strip(k): v for k, v in state.items()}


def _name_some(keys: list[str], limit: int = 12) -> str:
    """A short, readable list of tensor names: the first ``limit`` and how many more."""
    shown = ", ".join(keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def _is_optional_buffer(key: str) -> bool:
    """Buffers a file may lack without changing the network's computation (BatchNorm's step counter)."""
    return key.endswith("num_batches_tracked")


def load_weights(module: torch.nn.Module, state: dict[str, torch.Tensor], *, source: str,
                 select: Callable[[str], bool] | None = None, allow_missing: bool = False) -> dict[str, list[str]]:
    """Copy the tensors of ``state`` into ``module``: every selected tensor must be there, with its shape.

    Keys are compared after removing Lightning/DDP/compile prefixes (``model.``, ``module.``,
    ``_orig_mod.``), so TAO Lightning checkpoints, raw NVIDIA state dicts and our own files all match. Only
    module keys for which ``select`` is true (all when None) are considered. A selected tensor the file
    does not hold raises CheckpointError naming the missing tensors (silently random weights would waste a
    training run), unless ``allow_missing``; BatchNorm ``num_batches_tracked`` counters may be absent.
    Shapes that differ raise too. Tensors of the file that the module does not use are returned under
    ``unexpected`` for the caller to log.
    """
    state = _normalise_keys(state)
    own = module.state_dict()
    for k in own:  # files written before LayerScale vectors were stored as `ls1.gamma` (VGGT/DINOv2 naming)
        if k.endswith((".ls1.gamma", ".ls2.gamma")) and k not in state and k[:-len(".gamma")] in state:
            state[k] = state.pop(k[:-len(".gamma")])
    wanted = [k for k in own if select is None or select(k)]
    if not wanted:
        return {"loaded": [], "missing": [], "unexpected": []}
    loaded, missing, bad_shape = [], [], []
    new_state = {}
    for k in wanted:
        if k not in state:
            if not _is_optional_buffer(k):
                missing.append(k)
        elif tuple(state[k].shape) != tuple(own[k].shape):
            bad_shape.append(f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}")
        else:
            new_state[k] = state[k]
            loaded.append(k)
    if bad_shape:
        raise CheckpointError(f"{source} does not fit this model ({len(bad_shape)} tensors differ in shape (file vs "
                              f"model), e.g. {bad_shape[0]}); check model.backbone.preset and the decoder sizes in "
                              "the spec")
    if not loaded:
        raise CheckpointError(f"{source} does not hold NVPanoptix3D weights for this model "
                              f"(0 of {len(wanted)} tensors found)")
    if missing and not allow_missing:
        raise CheckpointError(f"{source} lacks {len(missing)} of the {len(wanted)} tensors this model needs: "
                              f"{_name_some(missing)}; use a checkpoint of the same architecture "
                              "(model.backbone.preset and the model section of the spec)")
    module.load_state_dict(new_state, strict=False)
    used = set(own)
    unexpected = [k for k in state if k not in used]
    return {"loaded": loaded, "missing": missing, "unexpected": unexpected}


def report_load(what: str, source: Any, rep: dict[str, list[str]], *, other_stage: Callable[[str], bool] | None = None
                ) -> None:
    """Log one load: an INFO line with the count, the file's tensors this model does not use listed as a
    WARNING. Tensors that are expected to stay unused are only counted (INFO): the criterion's buffers of a
    Lightning file (``criterion.empty_weight``) and those for which ``other_stage`` is true (the 3D stage's
    tensors when a 3D file initialises the 2D stage, and the reverse)."""
    log.info("%s initialised from %s (%d tensors)", what, source, len(rep["loaded"]))
    training = [k for k in rep["unexpected"] if k.startswith(TRAINING_ONLY_PREFIXES)]
    staged = [k for k in rep["unexpected"] if other_stage is not None and other_stage(k) and k not in training]
    unused = [k for k in rep["unexpected"] if k not in training and k not in staged]
    if training:
        log.info("%s: training-only tensors of %s not used: %s", what, source, _name_some(training, 4))
    if staged:
        log.info("%s: %d tensors of %s belong to the other stage and are not used here", what, len(staged), source)
    if unused:
        log.warning("%s: %d tensors of %s are not used by this model: %s", what, len(unused), source,
                    _name_some(unused, 10))
