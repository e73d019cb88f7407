"""pvq: reproduce "Pruning vs Quantization: Which is Better?" (Kuzmin et al., NeurIPS 2023).

The package holds all logic; the Snakemake workflow only wires files to ``python -m pvq`` commands.
"""

__version__ = "0.1.0"
