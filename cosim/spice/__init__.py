"""SPICE backends behind one narrow interface — the only place that imports PySpice.

Two backends run the same netlist text (which always carries its own analysis cards, so it
also runs by hand with ``ngspice -b``):

``subprocess``
    the ``ngspice`` executable in batch mode, results read from its binary raw file
    (full double precision) by :mod:`cosim.spice.rawfile`.
``pyspice``
    PySpice 1.5 driving libngspice in this process; vectors copied straight from ngspice's
    memory (full double precision).  PySpice's complaints about ngspice 39 are silenced here.

Both return a :class:`SimResult` whose vector names are normalised: ``v(node)`` for node
voltages, ``i(source)`` for branch currents, ``time`` for the transient scale and
``v(v-sweep)``/``i(i-sweep)`` for a DC sweep scale; all lower case.

Usage::

    from cosim.spice import get_backend
    res = get_backend("subprocess").run(netlist_text, timeout=60)
    res["i(vsense0)"]
"""

from __future__ import annotations

from .base import Backend, SimResult, available_backends, get_backend, BACKENDS

__all__ = ["Backend", "SimResult", "available_backends", "get_backend", "BACKENDS"]
