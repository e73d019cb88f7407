"""Today's number formats and sparsity patterns on every weight tensor of a model, at exact storage."""
