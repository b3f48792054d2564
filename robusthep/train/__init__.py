"""Training (layer 2): a generic fit loop with validation, early stopping and checkpoints."""

from robusthep.train.trainer import StepInfo, TrainResult, fit

__all__ = ["StepInfo", "TrainResult", "fit"]
