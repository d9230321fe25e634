"""Text embedders behind one small interface, and the values each model was calibrated with."""

from embeddings.base import Embedder, ModelIdentity
from embeddings.calibration import calibration_for
from embeddings.load import load_embedder

__all__ = ["Embedder", "ModelIdentity", "calibration_for", "load_embedder"]
