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


def test_fig4_states_the_chunk_size_the_run_used():
    """The chunk size is a config key (perlayer.chunk_features) and sets the bound's strength (#19)."""
    from pvq.plots.fig4_perlayer import draw

    boxes = pd.DataFrame([dict(model="m", layer=layer, chunk=0, bits=4, n=n, channels=channels, sparsity=0.5,
                               prune_low_db=10.0, prune_high_db=12.0, quant_low_db=13.0, quant_high_db=14.0,
                               prune_certified=True, quant_exact=True, quant_gptq_db=13.5, prune_obs_db=11.0,
                               prune_wanda_db=10.5, prune_wanda_refit_db=10.8)
                          for layer, n, channels in [("conv", 64, 6), ("depthwise", 9, 1), ("wide", 64, 6)]])
    title = draw(boxes)._suptitle.get_text()
    assert title == "each box: one chunk of n = 9, 64 input features x 1-6 output channels"
    assert draw(boxes.iloc[[0]])._suptitle.get_text().endswith("n = 64 input features x 6 output channels")
