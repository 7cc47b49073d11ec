"""Training: datasets, networks, losses and the training loop."""
