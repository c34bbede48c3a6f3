"""Training: the game update rules play, the loop, checkpoints and the run directory."""

from gancli.train.game import Game, GameSettings

__all__ = ["Game", "GameSettings"]
