"""Fig. 3 (left), storage-honest: pruning pays one bit per weight for its mask (sparsity 1 - (b-1)/16)."""

from __future__ import annotations

from pvq.plots import fig3_zoo_snr

INPUTS = fig3_zoo_snr.INPUTS


def draw(zoo):
    return fig3_zoo_snr.draw(zoo, masked=True)
