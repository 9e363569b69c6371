"""Training: trainer, data, distributed, checkpoints."""
