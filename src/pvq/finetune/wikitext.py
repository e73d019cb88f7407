"""Table 1's language-modelling row (the later version's Table 4): OPT-350m fine-tuned on WikiText-103,
perplexity (paper tier; needs wikitext_path). The interface of pvq.finetune.tasks.

- Model: ``finetune.wikitext.checkpoint`` through ``transformers`` (default ``facebook/opt-350m``,
  published weights through the Hugging Face cache; a local folder in ``save_pretrained`` layout works
  the same), in float32, with its own tokenizer.
- What is compressed: every linear layer of the decoder (attention q, k, v and output projections,
  both feed-forward layers, OPT-350m's input and output projections). The token and position
  embeddings, and the LM head, which is the token embedding itself (tied weights), stay in floating
  point (pvq.finetune.layers), as do the layer norms.
- Data: ``<wikitext_path>/wiki.train.raw`` and ``wiki.valid.raw`` (the raw WikiText-103 release,
  ``wikitext-103-raw-v1``), each tokenized line by line without special tokens, concatenated and cut
  into ``sequence_length``-token blocks (the remainder dropped). ``val_blocks`` training blocks
  (seeded) are held out to choose the learning rate; the reported perplexity is on the validation
  split, as the paper's.
- Loss: next-token cross-entropy. Metric ``ppl``: exp of the mean next-token negative log-likelihood
  over every predicted token of the split (lower is better).
- ``micro_batch_size`` sequences per forward pass; gradients accumulate to the batch (pvq.finetune.loop).
- No batch norm: nothing to re-estimate.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pvq.optional import require
from pvq.finetune.tasks import epoch_generator, hold_out

SPLIT_FILES = {"train": "wiki.train.raw", "validation": "wiki.valid.raw"}
TOKENIZE_LINES = 10_000  # lines per tokenizer call


def transformers_module():
    return require("transformers", "transformers", "the language-modelling task")


def build_language_model(settings: dict, pretrained: bool) -> nn.Module:
    """The causal LM of ``finetune.wikitext.checkpoint`` in float32: its weights when ``pretrained``,
    else the same architecture with fresh weights (filled from fp.pt by the fine-tuning runs)."""
    transformers = transformers_module()
    checkpoint = settings["wikitext"]["checkpoint"]
    if pretrained:
        from pvq.models.weights import WeightsError

        try:
            return transformers.AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32)
        except OSError as error:  # not in the cache and no network, or not a model folder
            raise WeightsError(f"opt_350m: cannot load {checkpoint!r} through transformers: {error}") from error
    config = transformers.AutoConfig.from_pretrained(checkpoint)
    return transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32)


def lm_logits(outputs) -> torch.Tensor:
    """(B, T, vocab) logits of a transformers causal LM output (or of a plain tensor)."""
    return outputs.logits if hasattr(outputs, "logits") else outputs


def next_token_nll(logits: torch.Tensor, tokens: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy of the logits at positions 0..T-2 against the tokens at 1..T-1."""
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]).float(), tokens[:, 1:].reshape(-1),
                           reduction=reduction)


@torch.no_grad()
def perplexity(model: nn.Module, blocks: torch.Tensor, batch_size: int) -> float:
    """exp(mean next-token NLL) over every predicted token of ``blocks`` (N, T)."""
    model.eval()
    where = next(model.parameters()).device
    total, count = 0.0, 0
    for i in range(0, len(blocks), batch_size):
        tokens = blocks[i:i + batch_size].to(where)
        total += float(next_token_nll(lm_logits(model(tokens)), tokens, reduction="sum"))
        count += tokens.shape[0] * (tokens.shape[1] - 1)
    return math.exp(total / count)


def token_blocks(path: str | Path, tokenizer, length: int) -> torch.Tensor:
    """The file's lines tokenized (no special tokens), concatenated and cut into (N, length) blocks."""
    with open(path, encoding="utf-8") as handle:
        lines = handle.readlines()
    ids: list[np.ndarray] = []
    for i in range(0, len(lines), TOKENIZE_LINES):
        encoded = tokenizer(lines[i:i + TOKENIZE_LINES], add_special_tokens=False)["input_ids"]
        ids += [np.asarray(line, dtype=np.int64) for line in encoded if line]
    flat = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
    count = len(flat) // length
    if count == 0:
        raise ValueError(f"{path}: {len(flat)} tokens, fewer than one block of {length}; is it WikiText-103?")
    return torch.from_numpy(flat[:count * length].reshape(count, length).copy())


class WikiTextTask:
    """OPT on WikiText-103 (see the module docstring); the interface of pvq.finetune.tasks."""

    metric = "ppl"
    table_metrics = ("ppl",)
    frozen_statistics = False
    channels_last = False

    def __init__(self, settings: dict):
        transformers = transformers_module()
        root = settings.get("wikitext_path")
        if root is None:
            raise ValueError("config key 'wikitext_path' is null: the opt_350m model needs WikiText-103")
        options = settings["wikitext"]
        self.micro_batch_size = options["micro_batch_size"]
        self.eval_batch_size = options["eval_batch_size"]
        tokenizer = transformers.AutoTokenizer.from_pretrained(options["checkpoint"])
        config = transformers.AutoConfig.from_pretrained(options["checkpoint"])
        length = options["sequence_length"]
        train = token_blocks(Path(root) / SPLIT_FILES["train"], tokenizer, length)
        self.test = token_blocks(Path(root) / SPLIT_FILES["validation"], tokenizer, length)
        held, kept = hold_out(len(train), options["val_blocks"], settings["seed"], "finetune.wikitext.val_blocks")
        self.train, self.val = train[torch.from_numpy(kept)], train[torch.from_numpy(held)]
        layers = config.num_hidden_layers
        picked = sorted({0, layers // 3, (2 * layers) // 3, layers - 1})
        self.representation_layers = tuple(f"model.decoder.layers.{i}.fc2" for i in picked)
        self.representation_sequences = options["representation_sequences"]
        self.vocabulary = config.vocab_size

    def steps_per_epoch(self, batch_size: int) -> int:
        return max(len(self.train) // batch_size, 1)

    def train_batches(self, epoch: int, seed: int, batch_size: int):
        order = torch.randperm(len(self.train), generator=epoch_generator(seed, epoch))
        size = min(batch_size, len(self.train))
        for i in range(self.steps_per_epoch(batch_size)):
            tokens = self.train[order[i * size:(i + 1) * size]]
            yield tokens, tokens

    def loss(self, outputs, targets: torch.Tensor) -> torch.Tensor:
        return next_token_nll(lm_logits(outputs), targets)

    def reestimate_batchnorm_(self, model: nn.Module, batch_size: int) -> None:
        """OPT has layer norms only: nothing to re-estimate."""

    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        return {"ppl": perplexity(model, {"val": self.val, "test": self.test}[split], self.eval_batch_size)}

    def representation_inputs(self) -> torch.Tensor:
        return self.val[:self.representation_sequences]

    def describe(self) -> dict:
        return {"train_blocks": len(self.train), "val_blocks": len(self.val), "test_blocks": len(self.test),
                "tokens_per_block": int(self.train.shape[1]), "vocabulary": self.vocabulary}
