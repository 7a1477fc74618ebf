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
import os
import pickle
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


def save_checkpoint(checkpoint: dict[str, Any], path: str | os.PathLike, *, key: str | None = None) -> Path:
    """Serialise ``checkpoint`` (encrypted when ``key`` is set) and write it atomically to ``path``."""
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
    encrypted files are authenticated, so their content is trusted. A raw state dict is wrapped as
    ``{"state_dict": ...}``. Raises CheckpointError naming the file on every failure.
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
        obj = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=not (encrypted or trusted))
    except pickle.UnpicklingError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if "Unsupported global" in ln] or [type(exc).__name__]
        raise CheckpointError(f"{what} {p} holds Python objects that are not loaded from untrusted files "
                              f"({lines[0][:160]})") from None
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a corrupt file
        raise CheckpointError(f"{what} {p} is not a readable PyTorch checkpoint "
                              f"({type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''})") from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{what} {p} holds a {type(obj).__name__}, expected a checkpoint dict or a state dict")
    if "state_dict" not in obj:
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            obj = {"state_dict": obj}
        else:
            raise CheckpointError(f"{what} {p} has no `state_dict` (keys: {', '.join(map(str, list(obj)[:8]))})")
    net = obj.get("network")
    if net is not None and net != NETWORK:
        raise CheckpointError(f"{what} {p} belongs to network `{net}`, not {NETWORK}")
    return obj


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
                 select: Callable[[str], bool] | None = None, allow_missing: bool = False,
                 min_match: float | None = None) -> dict[str, list[str]]:
    """Copy the tensors of ``state`` into ``module``: every selected tensor must be there, with its shape.

    Keys are compared after removing Lightning/DDP/compile prefixes (``model.``, ``module.``,
    ``_orig_mod.``), so TAO Lightning checkpoints, raw NVIDIA state dicts and our own files all match. Only
    module keys for which ``select`` is true (all when None) are considered. A selected tensor the file
    does not hold raises CheckpointError naming the missing tensors (silently random weights would waste a
    training run), unless ``allow_missing``; BatchNorm ``num_batches_tracked`` counters may be absent.
    Shapes that differ raise too. Tensors of the file that the module does not use are returned under
    ``unexpected`` for the caller to log. ``min_match`` is accepted for old callers and ignored.
    """
    del min_match
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
