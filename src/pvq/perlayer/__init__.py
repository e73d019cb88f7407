"""Per-layer post-training comparison (paper §4, App. F): activations -> chunks -> certified bounds."""
