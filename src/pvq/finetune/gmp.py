"""Gradual magnitude pruning (Zhu & Gupta 2017): per-tensor sparsity on a cubic schedule.

s_t = s_f + (s_i - s_f) (1 - t / T)^3 for the mask-update steps t = 0, k, 2k, ... < T, and s_f from
step T on (T: the ramp, 3/4 of the run in the paper; k: the update frequency). Every tensor is pruned
to s_t by magnitude; pruned weights get no gradient and are re-zeroed after every optimiser step.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn



def magnitude_mask(w: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Boolean mask keeping all but the round(sparsity * n) smallest |w| (ties by index, as
    pvq.prune.magnitude_mask), computed on w's device by selection (a partition), not a full sort."""
    n = w.numel()
    n_pruned = int(round(sparsity * n))
    flat = w.detach().abs().flatten()
    if n_pruned == 0:
        return torch.ones_like(w, dtype=torch.bool)
    if n_pruned >= n:
        return torch.zeros_like(w, dtype=torch.bool)
    if flat.device.type == "cpu":  # numpy's introselect is about 3x faster than kthvalue here
        threshold = torch.tensor(np.partition(flat.numpy(), n_pruned - 1)[n_pruned - 1], dtype=flat.dtype)
    else:
        threshold = flat.kthvalue(n_pruned).values
    below = flat < threshold
    ties = flat == threshold
    # Of the entries equal to the threshold, the lowest-indexed ones are pruned first.
    pruned = below | (ties & (torch.cumsum(ties, 0) <= n_pruned - int(below.sum())))
    return (~pruned).view(w.shape)


def cubic_sparsity(step: int, final: float, ramp_steps: int, every: int = 1, initial: float = 0.0) -> float:
    """Sparsity in force at ``step``: the cubic schedule sampled at the last mask update."""
    if step >= ramp_steps:
        return final
    t = (step // every) * every
    return final + (initial - final) * (1.0 - t / ramp_steps) ** 3


class PruneStrategy:
    """GMP: masks recomputed from current magnitudes on the schedule, applied after every update."""

    method = "prune"

    def __init__(self, sparsity: float, ramp_fraction: float = 0.75, every: int = 1):
        self.final = sparsity
        self.ramp_fraction = ramp_fraction
        self.every = every
        self.current = 0.0
        self.ramp_steps = 0
        self.layers: dict[str, nn.Module] = {}
        self.masks: dict[str, torch.Tensor] = {}

    def attach_(self, model: nn.Module, layers: dict[str, nn.Module], total_steps: int) -> None:
        self.layers = layers
        # The last step always trains at the final sparsity, however short the run.
        self.ramp_steps = min(int(round(self.ramp_fraction * total_steps)), total_steps - 1)
        self.masks = {n: torch.ones_like(m.weight, dtype=torch.bool) for n, m in layers.items()}

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return []

    def prune_to_(self, sparsity: float) -> None:
        """Magnitude masks at ``sparsity`` for every tensor, applied in place."""
        with torch.no_grad():
            for name, module in self.layers.items():
                self.masks[name] = magnitude_mask(module.weight, sparsity)
                module.weight.mul_(self.masks[name])
        self.current = sparsity

    def begin_step(self, step: int) -> None:
        target = cubic_sparsity(step, self.final, self.ramp_steps, self.every)
        if target > self.current:
            self.prune_to_(target)

    def before_update(self) -> None:
        for name, module in self.layers.items():
            if module.weight.grad is not None:
                module.weight.grad.mul_(self.masks[name])

    def after_update(self) -> None:
        with torch.no_grad():
            for name, module in self.layers.items():
                module.weight.mul_(self.masks[name])

    def state_dict(self) -> dict:
        return {"current": self.current, "masks": {n: m.cpu() for n, m in self.masks.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.current = state["current"]
        self.masks = {n: m.to(self.layers[n].weight.device) for n, m in state["masks"].items()}

    def summary(self) -> dict:
        zeros = sum(int((m.weight == 0).sum()) for m in self.layers.values())
        total = sum(m.weight.numel() for m in self.layers.values())
        return {"sparsity": zeros / total}
