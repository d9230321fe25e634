"""Text embedders behind one small interface, and the thresholds each model was calibrated with."""

from embeddings.base import Embedder, ModelIdentity
from embeddings.load import load_embedder
from embeddings.thresholds import Thresholds, thresholds_for

__all__ = ["Embedder", "ModelIdentity", "Thresholds", "load_embedder", "thresholds_for"]
