"""LLM workloads: model shapes from HF-style config files and the operations of a forward pass."""

from .config import TransformerShape, available_models, load_model
from .ops import Op, Workload, build_workload

__all__ = ["TransformerShape", "available_models", "load_model", "Op", "Workload", "build_workload"]
