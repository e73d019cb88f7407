"""Contracts of the allocation stage's CSVs (pvq.io.Table), checked when written and when read."""

from __future__ import annotations

from pvq.io import Table

# One row per (budget, strategy); an infeasible budget leaves its error, storage and accuracy empty.
SUMMARY = Table(
    "allocation budget sweep of one model (Fig. 10)", "allocate_model allocate_trained_model",
    columns={"model": str, "budget_bits": float, "strategy": str, "total_error": float, "storage_bits": int,
             "solver_status": str, "seconds": float, "average_bits": float, "snr_db": float,
             "test_accuracy": float},
    optional=("total_error", "storage_bits", "average_bits", "snr_db", "test_accuracy"),
    finite=("budget_bits", "seconds"), key=("model", "budget_bits", "strategy"), complete="strategy")

# The MILP's choice per (budget, tensor); empty when no budget was feasible.
CHOICES = Table(
    "allocation choices of one model (Fig. 11)", "allocate_model allocate_trained_model",
    columns={"model": str, "tensor": str, "kurtosis": float, "budget_bits": float, "choice": str, "bits": int,
             "sparsity": float, "numel": int, "storage_bits": int, "nsr": float},
    optional=("kurtosis", "nsr"), finite=("budget_bits", "sparsity"),
    key=("model", "budget_bits", "tensor"), complete="tensor", min_rows=0)

# Accuracy drop vs model error of the trained digits model ("all" and one row per strategy).
ACCURACY = Table(
    "allocation accuracy correlation", "allocate_trained_model",
    columns={"model": str, "strategy": str, "points": int, "fp_accuracy": float, "spearman_rho": float,
             "pearson_r_log_error": float},
    optional=("model", "spearman_rho", "pearson_r_log_error"), finite=("fp_accuracy",), key=("strategy",))

# The allocation over method specs (formats variant): one row per (budget, strategy); ``spec``: the
# one spec of the ``uniform`` strategy, empty for the others and where a budget is infeasible.
FORMATS_SUMMARY = Table(
    "allocation over method specs of one model", "allocate_model_formats allocate_trained_model_formats",
    columns={**SUMMARY.columns, "spec": str}, optional=(*SUMMARY.optional, "spec"), finite=SUMMARY.finite,
    key=SUMMARY.key, complete=SUMMARY.complete)

# The MILP's method per (budget, tensor) over method specs; empty when no budget was feasible.
FORMATS_CHOICES = Table(
    "allocation choices over method specs of one model", "allocate_model_formats allocate_trained_model_formats",
    columns={"model": str, "tensor": str, "kurtosis": float, "budget_bits": float, "spec": str, "family": str,
             "numel": int, "storage_bits": int, "bits_per_weight": float, "nsr": float},
    optional=("kurtosis", "nsr"), finite=("budget_bits", "bits_per_weight"),
    key=("model", "budget_bits", "tensor"), complete="tensor", min_rows=0)

# Fig. 11's numbers besides the choices: per budget, weights in pruned tensors over every model, and
# the zoo's kurtosis boundary (mask counted) at bit width floor(budget) (empty: pruning never favoured).
CHOICES_SUMMARY = Table(
    "allocation choices summary (Fig. 11)", "summarize_allocation_choices",
    columns={"budget_bits": float, "weights": int, "pruned_weights": int, "pruned_share": float,
             "boundary_bits": int, "kurtosis_boundary": float},
    optional=("kurtosis_boundary",), finite=("budget_bits", "pruned_share"), key=("budget_bits",), min_rows=0)

# The formats variant's MILP picks, counted: one row per (model, budget, spec it picked for some tensor).
FORMATS_SHARES = Table(
    "allocation formats shares (Fig. 15)", "summarize_allocation_formats",
    columns={"model": str, "budget_bits": float, "spec": str, "family": str, "tensors": int, "weights": int,
             "weight_share": float, "storage_share": float},
    finite=("budget_bits", "weight_share", "storage_share"), key=("model", "budget_bits", "spec"), min_rows=0)
