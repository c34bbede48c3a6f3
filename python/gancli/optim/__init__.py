"""Optimizers (one per player) and update rules (how the players' steps combine)."""
