"""The one training loop both compressions share, so QAT and pruning differ only in their strategy.

Per step: strategy.begin_step (pruning: mask update), forward, the task's loss (cross-entropy, or
distillation from the uncompressed model), backward, strategy.before_update (pruning: mask
gradients), SGD/Adam step on the weights plus the strategy's own optimisers (LSQ scales),
strategy.after_update (pruning: re-zero). Learning rate: cosine from ``lr`` to 0 over the run. A task
whose model trains with frozen batch-norm statistics has them re-estimated before the first step and
after every epoch. Every epoch ends with ``on_epoch_end`` (validation, representations) and, when a
checkpoint path is given, an atomic checkpoint from which a killed job resumes.
"""

from __future__ import annotations

import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pvq.io import atomic_path


@dataclass(frozen=True)
class Schedule:
    """Optimiser settings of one run (Table 4 for the ImageNet models)."""

    epochs: int
    lr: float
    batch_size: int
    weight_decay: float
    optimizer: str = "sgd"  # "sgd" (momentum 0.9) or "adam"
    momentum: float = 0.9

    def __post_init__(self):
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        if self.epochs < 1 or self.lr <= 0 or self.batch_size < 1:
            raise ValueError(f"invalid schedule {self}")

    def as_dict(self) -> dict:
        return asdict(self)


class NoCompression:
    """The FP baseline's strategy: nothing attached, nothing changed."""

    method = "fp"

    def attach_(self, model, layers, total_steps):
        pass

    def optimizers(self):
        return []

    def begin_step(self, step):
        pass

    def before_update(self):
        pass

    def after_update(self):
        pass

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass

    def summary(self):
        return {}


def seed_everything(seed: int, threads: int | None = None) -> None:
    """Same seed, same numbers: seeds every generator, fixes the CPU thread count, deterministic cuDNN."""
    if threads:
        torch.set_num_threads(threads)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


def make_optimizer(params, schedule: Schedule) -> torch.optim.Optimizer:
    if schedule.optimizer == "sgd":
        return torch.optim.SGD(params, lr=schedule.lr, momentum=schedule.momentum,
                               weight_decay=schedule.weight_decay)
    return torch.optim.Adam(params, lr=schedule.lr, weight_decay=schedule.weight_decay)


def cosine_lr(step: int, total_steps: int, lr: float) -> float:
    return 0.5 * lr * (1.0 + math.cos(math.pi * step / total_steps))


def to_device(batch, where):
    """A batch's inputs or targets on ``where``: a tensor, or a dict, list or tuple of them (detection)."""
    if isinstance(batch, torch.Tensor):
        return batch.to(where)
    if isinstance(batch, dict):
        return {key: to_device(value, where) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(value, where) for value in batch)
    return batch


def slice_batch(batch, start: int, stop: int):
    """Examples start..stop of a batch (a tensor, or a dict, list or tuple of per-example tensors)."""
    if isinstance(batch, torch.Tensor):
        return batch[start:stop]
    if isinstance(batch, dict):
        return {key: slice_batch(value, start, stop) for key, value in batch.items()}
    return type(batch)(slice_batch(value, start, stop) for value in batch)


def train_step(model: nn.Module, task, strategy, optimizers, x: torch.Tensor, y, step: int) -> float:
    """One optimiser step (the strategy's hooks around forward, loss, backward and update); the loss.

    A task with ``micro_batch_size`` (OPT: 512 sequences per step do not fit one forward pass) runs the
    batch in slices of that many examples and accumulates their gradients, each slice's mean loss
    weighted by its share of the batch: the gradient of the whole batch's mean loss, for a loss that is
    a mean over examples (next-token cross-entropy on equal-length blocks is).
    """
    strategy.begin_step(step)
    for opt in optimizers:
        opt.zero_grad(set_to_none=True)
    n = len(x)
    size = getattr(task, "micro_batch_size", None) or n
    total = 0.0
    for start in range(0, n, size):
        stop = min(start + size, n)
        part = task.loss(model(x[start:stop]), slice_batch(y, start, stop) if size < n else y) * ((stop - start) / n)
        part.backward()
        total += float(part.detach())
    strategy.before_update()
    for opt in optimizers:
        opt.step()
    strategy.after_update()
    return total


def optimizers_for(model: nn.Module, strategy, schedule: Schedule) -> list[torch.optim.Optimizer]:
    """The weights' optimiser first (every parameter the strategy does not optimise itself), then the strategy's."""
    own = strategy.optimizers()
    extra_ids = {id(p) for opt in own for group in opt.param_groups for p in group["params"]}
    weights = [p for p in model.parameters() if id(p) not in extra_ids]
    return [make_optimizer(weights, schedule), *own]


def train(model: nn.Module, task, strategy, schedule: Schedule, seed: int, *, on_epoch_end=None,
          checkpoint: str | Path | None = None, log=print) -> list[dict]:
    """Train ``model`` (strategy already attached) for ``schedule.epochs``; return the per-epoch history.

    ``task`` follows pvq.finetune.tasks: ``task.train_batches(epoch, seed, batch_size)`` yields the
    epoch's (inputs, targets), a pure function of its arguments, so a resumed run sees the same data
    as an uninterrupted one; ``task.loss(outputs, targets)`` is minimised.
    """
    where = next(model.parameters()).device
    optimizers = optimizers_for(model, strategy, schedule)
    steps_per_epoch = task.steps_per_epoch(schedule.batch_size)
    total = schedule.epochs * steps_per_epoch
    history: list[dict] = []
    start = 0
    if checkpoint is not None and Path(checkpoint).exists():
        state = torch.load(checkpoint, map_location=where, weights_only=True)
        model.load_state_dict(state["model"])
        for opt, opt_state in zip(optimizers, state["optimizers"]):
            opt.load_state_dict(opt_state)
        strategy.load_state_dict(state["strategy"])
        history, start = state["history"], state["epoch"]
        torch.set_rng_state(state["rng"])  # dropout draws continue as if never interrupted
        if torch.cuda.is_available() and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        log(f"resumed from {checkpoint} after epoch {start}")
    frozen = task.frozen_statistics
    if frozen and start == 0:
        task.reestimate_batchnorm_(model, schedule.batch_size)
    for epoch in range(start, schedule.epochs):
        began = time.perf_counter()
        model.train(not frozen)
        running, seen = 0.0, 0
        for i, (x, y) in enumerate(task.train_batches(epoch, seed, schedule.batch_size)):
            step = epoch * steps_per_epoch + i
            optimizers[0].param_groups[0]["lr"] = cosine_lr(step, total, schedule.lr)
            running += train_step(model, task, strategy, optimizers, x.to(where), to_device(y, where), step) * len(x)
            seen += len(x)
        if frozen:
            task.reestimate_batchnorm_(model, schedule.batch_size)
        entry = {"epoch": epoch + 1, "loss": running / seen, "seconds": time.perf_counter() - began,
                 **strategy.summary()}
        entry.pop("scales", None)
        if on_epoch_end is not None:
            entry.update(on_epoch_end(epoch + 1))
        history.append(entry)
        log(f"epoch {epoch + 1}/{schedule.epochs}: " + ", ".join(
            f"{k} {v:.4g}" for k, v in entry.items() if isinstance(v, float)))
        if checkpoint is not None:
            with atomic_path(checkpoint) as tmp:
                torch.save({"model": model.state_dict(), "optimizers": [o.state_dict() for o in optimizers],
                            "strategy": strategy.state_dict(), "history": history, "epoch": epoch + 1,
                            "rng": torch.get_rng_state(),
                            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None},
                           tmp)
    return history


def remove_checkpoint(checkpoint: str | Path | None) -> None:
    if checkpoint is not None and os.path.exists(checkpoint):
        os.remove(checkpoint)
