"""One error hierarchy for the whole package.

The CLI turns every :class:`CosimError` into one line on stderr and exit status 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class CosimError(Exception):
    """Base of every error cosim raises on purpose."""


class ConfigError(CosimError, ValueError):
    """A bad parameter, file, name or combination supplied by the user."""


class UnknownNameError(ConfigError, KeyError):
    """A name looked up in a registry that does not hold it; the message lists the valid names."""

    def __init__(self, kind: str, name: str, valid):
        self.kind, self.name, self.valid = kind, name, sorted(valid)
        super().__init__(f"unknown {kind} {name!r}; valid: {', '.join(self.valid)}")

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.args[0]


class NetlistError(CosimError):
    """A template or spec that cannot be rendered into a valid netlist."""


class SimulationError(CosimError):
    """ngspice failed, timed out or did not converge.

    Carries the netlist, the ngspice log and the exit status so the failure can be
    reproduced by hand with ``ngspice -b``.
    """

    def __init__(self, message: str, *, netlist: str = "", log: str = "", status: int | None = None):
        super().__init__(message)
        self.netlist, self.log, self.status = netlist, log, status


class BackendUnavailableError(SimulationError):
    """The requested SPICE backend cannot run on this machine (ngspice or libngspice missing)."""


class CalibrationError(CosimError):
    """A calibration table is missing, corrupt, outdated or lacks what is asked of it."""


class ModelRangeError(CosimError, ValueError):
    """A behavioral model was asked for an answer it cannot give (outside its table)."""


class ConvergenceError(CosimError):
    """A behavioral solver did not reach its tolerance (typically far outside the calibrated range)."""
