"""Metrics: the VP metric, FID and ground-truth disentanglement metrics."""
