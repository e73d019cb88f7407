"""Full-model fine-tuning (§5, App. D, G-I): one training loop, QAT (LSQ) and gradual magnitude
pruning plugged into it as strategies, batch-norm re-estimation, representation tracking.

Importing this package does not import torch; its modules do.
"""
