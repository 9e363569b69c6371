"""Training: trainer, adversary (discriminators and their update), losses' weights, data, distributed, checkpoints."""
