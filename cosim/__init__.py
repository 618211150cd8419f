"""cosim — SPICE-backed co-simulation of memristor crossbar accelerators for LLMs.

Data flow: circuits/*.toml → cosim.netlist → cosim.spice → cosim.calibration → calibration/*.h5
→ cosim.models (numpy behavioral models) → system-level simulation.
"""

__version__ = "0.1.0"
