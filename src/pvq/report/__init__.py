"""The paper, reproduced: published-vs-reproduced comparisons and quantization cards."""
