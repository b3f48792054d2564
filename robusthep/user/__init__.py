"""Models on the user's own data: train, predict and verify (``robusthep train`` …)."""

from robusthep.user.config import DECORRELATION_CHOICES, TrainConfig
from robusthep.user.model_folder import ModelFolder
from robusthep.user.prediction import predict
from robusthep.user.training import TrainedModel, train_model
from robusthep.user.verification import ModelCheck, verify_model

__all__ = [
    "DECORRELATION_CHOICES",
    "ModelCheck",
    "ModelFolder",
    "TrainConfig",
    "TrainedModel",
    "predict",
    "train_model",
    "verify_model",
]
