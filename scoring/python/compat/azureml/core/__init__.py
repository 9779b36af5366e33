"""Stand-in for `azureml.core` inside a scoring replica: only `Model.get_model_path` (what score.py uses)."""
from .model import Model

__all__ = ["Model"]
