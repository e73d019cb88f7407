"""Fig. 3 (right), storage-honest: the regions when pruning pays one bit per weight for its mask."""

from __future__ import annotations

from pvq.plots import fig3_kurtosis_regions

INPUTS = fig3_kurtosis_regions.INPUTS


def draw(zoo, zoo_regions):
    return fig3_kurtosis_regions.draw(zoo, zoo_regions, masked=True)
