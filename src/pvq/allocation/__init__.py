"""Per-tensor choice of pruning, quantization or both under one model-size budget (beyond the paper).

options: every way to store one tensor (FP16, b-bit quantization, magnitude pruning, pruning then
quantizing the survivors) with its squared error and storage in bits; knapsack: the multiple-choice
knapsack over tensors, exact (MILP, PuLP) and greedy (Lagrangian); strategies: the budget sweep and
its baselines; method_options and formats: the formats variant, configured ``pvq.methods`` specs as the
options (exact storage) and its strategies; summary: what the figures draw besides the choices;
cli: ``python -m pvq allocation``.
"""
