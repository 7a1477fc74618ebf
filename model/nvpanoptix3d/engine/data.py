"""Data loading for the engine: per-rank shards, a deterministic order per epoch, exact mid-epoch resume.

Lightning 2.x saves ``state_dict()`` of a stateful training loader in its checkpoints and hands it back
on resume. :class:`ShardedEpochLoader` uses that to continue *inside* an epoch with the same batches the
uninterrupted run would have seen: the order of epoch ``e`` is a pure function of ``(seed, e)``, and the
state records how many batches of that epoch were trained.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch.utils.data import DataLoader, Dataset, Subset

from nvpanoptix3d.data import build_dataset, collate, options_from_spec


class _EpochSampler:
    """Exposes ``set_epoch`` where Lightning looks for it (``loader.sampler.set_epoch``)."""

    def __init__(self, owner: "ShardedEpochLoader") -> None:
        self.owner = owner

    def set_epoch(self, epoch: int) -> None:
        self.owner.epoch = int(epoch)


class ShardedEpochLoader:
    """Batches of this rank's shard of ``dataset``; the order depends only on (seed, epoch).

    Args:
        dataset: map-style dataset of sample dicts.
        batch_size: samples per batch on this rank.
        shuffle: permute the samples every epoch.
        seed: base of the per-epoch permutation.
        rank / world_size: this process's shard (indices ``perm[rank::world_size]``, padded to equal length).
        num_workers / pin_memory: passed to the underlying DataLoader.
    """

    def __init__(self, dataset: Dataset, *, batch_size: int, shuffle: bool, seed: int, rank: int = 0,
                 world_size: int = 1, num_workers: int = 0, pin_memory: bool = False,
                 collate_fn: Callable = collate) -> None:
        self.dataset = dataset
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.rank, self.world_size = rank, world_size
        self.num_workers, self.pin_memory, self.collate_fn = num_workers, pin_memory, collate_fn
        self.epoch = 0
        self.sampler = _EpochSampler(self)
        self._resume: tuple[int, int] | None = None
        self._done = (0, 0)  # (epoch, batches trained) as last reported by the training loop

    def shard(self, epoch: int) -> list[int]:
        n = len(self.dataset)
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
            order = torch.randperm(n, generator=g).tolist()
        else:
            order = list(range(n))
        total = math.ceil(n / self.world_size) * self.world_size
        order += order[: total - n]
        return order[self.rank::self.world_size]

    def __len__(self) -> int:
        return math.ceil(math.ceil(len(self.dataset) / self.world_size) / self.batch_size)

    def __iter__(self):
        # A generator: nothing runs (and no resume state is consumed) until the first batch is requested,
        # after Lightning has called set_epoch for the epoch being trained.
        epoch = self.epoch
        indices = self.shard(epoch)
        skip = 0
        if self._resume is not None:
            r_epoch, r_done = self._resume
            self._resume = None
            if r_epoch == epoch:
                skip = r_done
        indices = indices[skip * self.batch_size:]
        if not indices:
            return
        loader = DataLoader(Subset(self.dataset, indices), batch_size=self.batch_size, shuffle=False,
                            num_workers=self.num_workers, pin_memory=self.pin_memory, collate_fn=self.collate_fn,
                            persistent_workers=False)
        yield from loader

    def note_progress(self, epoch: int, batches_done: int) -> None:
        """Called by the checkpoint callback just before saving: what the saved state must say."""
        self._done = (int(epoch), int(batches_done))

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self._done[0], "batches_done": self._done[1], "seed": self.seed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._resume = (int(state.get("epoch", 0)), int(state.get("batches_done", 0)))


def split_dataset(spec: Any, split: str) -> Dataset:
    return build_dataset(options_from_spec(spec, split))


class ShardedEvalLoader:
    """An ordered loader over this rank's shard of ``dataset``. Shards are padded to equal length (every rank
    must run the same number of steps under DDP); the evaluator drops the repeated samples by their ``meta``
    ids. ``rank``/``world_size`` may be set after construction (Lightning knows them only once it launched)."""

    def __init__(self, dataset: Dataset, *, batch_size: int, rank: int = 0, world_size: int = 1, num_workers: int = 0,
                 pin_memory: bool = False) -> None:
        self.dataset, self.batch_size = dataset, batch_size
        self.rank, self.world_size = rank, world_size
        self.num_workers, self.pin_memory = num_workers, pin_memory

    def _indices(self) -> list[int]:
        n = len(self.dataset)
        total = math.ceil(n / self.world_size) * self.world_size
        return [i % n for i in range(total)][self.rank::self.world_size]

    def __len__(self) -> int:
        return math.ceil(len(self._indices()) / self.batch_size)

    def __iter__(self):
        yield from DataLoader(Subset(self.dataset, self._indices()), batch_size=self.batch_size, shuffle=False,
                              num_workers=self.num_workers, pin_memory=self.pin_memory, collate_fn=collate)
