"""Model-zoo weight sweep (paper §3.4, App. C, E): every conv/linear tensor quantized and pruned, Fig. 3, Table 2."""
