"""Which way each fine-tuning metric improves, so the learning-rate choice, Table 1/5's winner and the
published-vs-reproduced verdicts read every task the same way.

Accuracy, agreement, mIoU and mAP: higher is better; perplexity (and KL): lower is better. No torch
here: the report reads it.
"""

from __future__ import annotations

HIGHER_IS_BETTER = {"acc": True, "agree": True, "miou": True, "map": True, "ppl": False, "kl": False,
                    # the paper's own spelling of its Table 1 metrics (src/pvq/data/paper/table1_finetune.csv)
                    "mIoU": True, "mAP": True}


def higher_is_better(metric: str) -> bool:
    """True where a larger ``metric`` is better; a metric not listed here is an error, never a guess."""
    try:
        return HIGHER_IS_BETTER[metric]
    except KeyError:
        raise KeyError(f"no direction known for metric {metric!r}; add it to pvq.finetune.directions") from None


def best_index(values, metric: str) -> int:
    """Index of the best of ``values`` under ``metric``'s direction; ties go to the first."""
    sign = 1.0 if higher_is_better(metric) else -1.0
    return max(range(len(values)), key=lambda i: (sign * values[i], -i))


def words(metric: str) -> str:
    return "higher is better" if higher_is_better(metric) else "lower is better"
