"""Figures show what their files hold."""

import itertools

import matplotlib

matplotlib.use("Agg")
import pandas as pd  # noqa: E402


def test_fig7_legend_names_every_layer_even_with_a_leading_underscore():
    """Lite0's layers are `_blocks.N`; matplotlib drops legend entries whose label starts with `_`."""
    from pvq.plots.fig7_representations_by_layer import draw

    layers = ["_blocks.3", "_blocks.8", "_conv_head"]
    rows = [dict(model="efficientnet_lite0", method=method, bits=4, seed=seed, epoch=epoch, layer=layer,
                 layer_index=i, snr_db=10.0 - i, cka=0.9)
            for method, seed, epoch, (i, layer) in itertools.product(["quant", "prune"], [0, 1], [0, 1],
                                                                     enumerate(layers))]
    fig = draw(pd.DataFrame(rows))
    legend = fig.axes[1].get_legend()
    assert [text.get_text() for text in legend.get_texts()] == ["blocks.3", "blocks.8", "conv_head"]
