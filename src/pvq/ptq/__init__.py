"""Whole-model post-training compression (beyond the paper; Fig. 14): RTN, GPTQ, magnitude, Wanda,
SparseGPT and SparseGPT with GPTQ-style rounding at equal storage, layer by layer through the
already compressed model, scored on held-out photos against the uncompressed model."""
