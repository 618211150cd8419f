"""Render SPICE netlists from the Jinja2 templates in ``netlists/``."""

from .crossbar import (
    KINDS,
    CrossbarParams,
    Inputs,
    Op,
    Tran,
    render_crossbar,
    render_cell_memristor,
    render_cell_fet,
    template_sources,
)

__all__ = ["KINDS", "CrossbarParams", "Inputs", "Op", "Tran", "render_crossbar", "render_cell_memristor",
           "render_cell_fet", "template_sources"]
