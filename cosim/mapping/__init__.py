"""Mapping LLM operations onto crossbar arrays (issue 3; so far: weight tiling and array counts)."""

from .tiling import MatrixTiling, Tiling, tile_matrix, tile_model

__all__ = ["MatrixTiling", "Tiling", "tile_matrix", "tile_model"]
