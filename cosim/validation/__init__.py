"""Validation: behavioral models against SPICE, point by point, with machine-readable checks."""

from .checks import Check, write_checks

__all__ = ["Check", "write_checks"]
