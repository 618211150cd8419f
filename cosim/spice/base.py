"""Backend interface, the registry, and the two ngspice backends."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from ..errors import BackendUnavailableError, SimulationError, UnknownNameError

log = logging.getLogger(__name__)

#: Lines ngspice prints on every run that carry no information for the user.
_NOISE = ("Note: No compatibility mode selected!", "Unsupported Ngspice version")
#: Log fragments that mean the analysis did not produce a trustworthy answer.
_FAILURE = re.compile(
    r"(^\s*error\b|error on line|singular matrix|iteration limit reached|timestep too small|"
    r"simulation\(s\) aborted|no such vector|gmin stepping failed|source stepping failed|"
    r"unknown (?:model|subckt|parameter)|could not find|fatal)",
    re.IGNORECASE | re.MULTILINE,
)

#: Failures a retry with relaxed options may cure (the analysis ran but did not converge).
_CONVERGENCE = re.compile(r"(singular matrix|iteration limit|timestep too small|gmin stepping failed|"
                          r"source stepping failed|no convergence|convergence problem)", re.IGNORECASE)
#: Appended to a netlist whose analysis did not converge: a later .options card overrides earlier ones.
RELAXED_OPTIONS = "reltol=1e-3 abstol=1e-12 vntol=1e-6 itl1=2000 itl2=1000 itl4=100 gminsteps=20 srcsteps=20"


def relaxed(netlist: str) -> str:
    """The netlist with :data:`RELAXED_OPTIONS` inserted before its ``.end``."""
    lines = netlist.rstrip().splitlines()
    at = next((k for k in range(len(lines) - 1, -1, -1) if lines[k].strip().lower() == ".end"), len(lines))
    return "\n".join(lines[:at] + [f".options {RELAXED_OPTIONS}"] + lines[at:]) + "\n"


_STEP_FAILED = re.compile(r"(gmin|source) stepping failed", re.IGNORECASE)
_STEP_DONE = re.compile(r"(gmin|source) stepping completed", re.IGNORECASE)


@dataclass
class SimResult:
    """Vectors of one analysis (the last plot ngspice produced), as float64/complex numpy arrays."""

    vectors: dict[str, np.ndarray]
    plot: str
    log: str = ""
    elapsed_s: float = 0.0
    backend: str = ""
    plots: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    relaxed: str = ""
    """The relaxed options it converged with, if the first attempt did not converge."""

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.vectors[name.lower()]
        except KeyError:
            have = ", ".join(sorted(self.vectors)[:12])
            raise SimulationError(
                f"ngspice result has no vector {name!r} (has: {have}…)", log=self.log
            ) from None

    def __contains__(self, name: str) -> bool:
        return name.lower() in self.vectors


def _clean_log(text: str) -> str:
    return "\n".join(l for l in text.splitlines() if not any(n in l for n in _NOISE))


def _check_log(text: str, netlist: str, status: int | None = None) -> None:
    line = _first_error(text)
    if line:
        raise SimulationError(f"ngspice failed: {line}", netlist=netlist, log=text, status=status)


class Backend(ABC):
    """One way of running ngspice.  Subclasses write :meth:`run_text`, :meth:`available`, :meth:`version`."""

    name: str = ""

    @abstractmethod
    def available(self) -> tuple[bool, str]:
        """(usable, reason) — never raises."""

    @abstractmethod
    def version(self) -> str:
        """ngspice version string, e.g. ``"39"``."""

    @abstractmethod
    def run_text(self, netlist: str, timeout: float) -> SimResult:
        """Run ``netlist`` (with its own analysis cards) and return the last analysis' vectors."""

    def run(self, netlist: str, *, timeout: float = 600.0, relax: bool = True) -> SimResult:
        """Run the netlist.  A point that does not converge (no operating point, timestep too small,
        iteration limit) is retried once with :data:`RELAXED_OPTIONS` appended — looser tolerances,
        more iterations, gmin and source stepping — and the retry is recorded
        (:func:`cosim.events.record`, ``SimResult.relaxed``); if it still fails the first error is
        raised.  A netlist ngspice rejects (syntax, unknown model) is not retried."""
        ok, why = self.available()
        if not ok:
            raise BackendUnavailableError(f"SPICE backend {self.name!r} unavailable: {why}")
        t0 = time.perf_counter()
        try:
            res = self.run_text(netlist, timeout)
        except SimulationError as exc:
            if not relax or not _CONVERGENCE.search(str(exc)):
                raise
            from .. import events

            try:
                res = self.run_text(relaxed(netlist), timeout)
            except SimulationError:
                raise exc from None
            res.relaxed = RELAXED_OPTIONS
            events.record("relaxed", f"{str(exc).splitlines()[0][:160]} -> converged with {RELAXED_OPTIONS}")
        res.elapsed_s = time.perf_counter() - t0
        res.backend = self.name
        return res


# --------------------------------------------------------------------------- subprocess


class SubprocessBackend(Backend):
    """``ngspice -b -r out.raw netlist.cir``; the binary raw file is parsed by :mod:`.rawfile`."""

    name = "subprocess"

    def __init__(self, executable: str | None = None):
        self.executable = executable or os.environ.get("COSIM_NGSPICE", "ngspice")

    def _path(self) -> str | None:
        return shutil.which(self.executable)

    def available(self) -> tuple[bool, str]:
        if self._path() is None:
            return False, f"executable {self.executable!r} not on PATH (apt-get install ngspice)"
        return True, self._path() or ""

    def version(self) -> str:
        return _exe_version(self._path() or self.executable)

    def run_text(self, netlist: str, timeout: float) -> SimResult:
        from .rawfile import read_raw

        with tempfile.TemporaryDirectory(prefix="cosim-ngspice-") as tmp:
            cir, raw = Path(tmp) / "circuit.cir", Path(tmp) / "out.raw"
            cir.write_text(netlist)
            # ngspice reads .spiceinit from its working directory before the circuit
            (Path(tmp) / ".spiceinit").write_text(f"set num_threads={ngspice_threads()}\n")
            try:
                proc = subprocess.run(
                    [self._path() or self.executable, "-b", "-r", str(raw), str(cir)],
                    capture_output=True, text=True, timeout=timeout, cwd=tmp,
                    env={**os.environ, "SPICE_ASCIIRAWFILE": "0"},
                )
            except subprocess.TimeoutExpired as exc:
                out = (exc.stdout or b"")
                out = out.decode(errors="replace") if isinstance(out, bytes) else out
                raise SimulationError(f"ngspice timed out after {timeout:g} s", netlist=netlist,
                                      log=_clean_log(out)) from None
            text = _clean_log(proc.stdout + "\n" + proc.stderr)
            _check_log(text, netlist, proc.returncode)
            if proc.returncode != 0 or not raw.is_file():
                raise SimulationError(f"ngspice exited with status {proc.returncode} and no results",
                                      netlist=netlist, log=text, status=proc.returncode)
            plots = read_raw(raw)
        if not plots:
            raise SimulationError("ngspice produced no analysis results", netlist=netlist, log=text)
        by_name = {p.plotname: p.data for p in plots}
        return SimResult(vectors=dict(plots[-1].data), plot=plots[-1].plotname, log=text, plots=by_name)


def ngspice_threads() -> int:
    """OpenMP threads per ngspice run (``COSIM_NGSPICE_THREADS``, default 1).

    Debian's ngspice evaluates BSIM4 devices with OpenMP, 2 threads by default (its ``num_threads``
    variable; OMP_NUM_THREADS is ignored).  Two parallel workers with two spinning threads each on
    a 2-core machine ran a 1001-point DC sweep of the ADC 15-25x slower than one thread each
    (measured: 0.09 s alone, 1.4-2.5 s oversubscribed), so cosim asks for one thread per run and
    parallelises over runs instead."""
    raw = os.environ.get("COSIM_NGSPICE_THREADS", "1")
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise BackendUnavailableError(f"COSIM_NGSPICE_THREADS must be a positive integer, got {raw!r}")
    return n


@cache
def _exe_version(path: str) -> str:
    try:
        out = subprocess.run([path, "-v"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    m = re.search(r"ngspice-(\S+)", out)
    return m.group(1) if m else "unknown"


# --------------------------------------------------------------------------- PySpice shared


_shared_lock = threading.Lock()
_shared_broken: list[str] = []  # set when a background run could not be halted


def _release(ng) -> None:
    ng._ngspice_shared.ngSpice_Command(b"destroy all")
    ng._ngspice_shared.ngSpice_Command(b"remcirc")


@cache
def _shared_instance():
    """The process's one libngspice instance (PySpice keeps one per process anyway)."""
    logging.getLogger("PySpice").setLevel(logging.CRITICAL)  # "Unsupported Ngspice version 39"
    from PySpice.Spice.NgSpice.Shared import NgSpiceShared

    class _Collecting(NgSpiceShared):
        """Keeps ngspice's whole output for our log instead of PySpice's per-command buffer."""

        transcript: list[str] = []
        finished = threading.Event()

        def send_char(self, message, ngspice_id):
            self.transcript.append(message.partition(" ")[2])
            return 0

        @staticmethod
        def _background_thread_running(is_running, ngspice_id, user_data):
            # ngspice calls this with False when its background thread starts and True when it
            # ends.  (PySpice 1.5's own version returns None, which cffi reports on stderr.)
            if is_running:
                _Collecting.finished.set()
            return 0

    return _Collecting.new_instance()


def _normalise_shared(name: str) -> str:
    n = name.lower()
    if n.endswith("#branch"):
        return f"i({n[:-7]})"
    if n in ("time", "frequency", "temp-sweep", "res-sweep") or "(" in n or n.startswith("@"):
        return n
    return f"v({n})"


class PySpiceBackend(Backend):
    """PySpice 1.5 + libngspice in this process (needs the ``libngspice0-dev`` OS package)."""

    name = "pyspice"

    def available(self) -> tuple[bool, str]:
        try:
            _shared_instance()
        except Exception as exc:  # PySpice raises OSError / its own errors when the .so is missing
            return False, f"libngspice could not be loaded through PySpice ({type(exc).__name__}: {exc}); " \
                          "apt-get install libngspice0-dev"
        return True, "libngspice"

    def version(self) -> str:
        try:
            return str(_shared_instance()._ngspice_version)
        except Exception:
            return "unknown"

    def run_text(self, netlist: str, timeout: float) -> SimResult:
        from PySpice.Spice.NgSpice.Shared import NgSpiceCircuitError, NgSpiceCommandError

        with _shared_lock:
            if _shared_broken:
                raise BackendUnavailableError(f"libngspice unusable in this process: {_shared_broken[0]}")
            ng = _shared_instance()
            ng.transcript.clear()
            ng._ngspice_shared.ngSpice_Command(b"destroy all")
            ng._ngspice_shared.ngSpice_Command(f"set num_threads={ngspice_threads()}".encode())
            before = set(ng.plot_names)
            try:
                ng.load_circuit(netlist)
                ng.finished.clear()
                ng.exec_command("bg_run")
            except (NgSpiceCircuitError, NgSpiceCommandError, NameError) as exc:
                _release(ng)
                text = _clean_log("\n".join(ng.transcript))
                raise SimulationError(f"ngspice rejected the netlist: {_first_error(text) or exc}",
                                      netlist=netlist, log=text) from None
            if not ng.finished.wait(timeout):
                ng._ngspice_shared.ngSpice_Command(b"bg_halt")
                if not ng.finished.wait(30):
                    _shared_broken.append(f"a run timed out after {timeout:g} s and could not be halted")
                else:
                    _release(ng)
                raise SimulationError(f"ngspice timed out after {timeout:g} s", netlist=netlist,
                                      log=_clean_log("\n".join(ng.transcript)))
            try:
                text = _clean_log("\n".join(ng.transcript))
                _check_log(text, netlist)
                new = [p for p in ng.plot_names if p not in before and p != "const"]
                if not new:
                    raise SimulationError("ngspice produced no analysis results", netlist=netlist, log=text)
                plots = {}
                for pname in new:
                    vecs = {}
                    for vname in ng._convert_string_array(ng._ngspice_shared.ngSpice_AllVecs(pname.encode())):
                        vecs[_normalise_shared(vname)] = _get_vec(ng, f"{pname}.{vname}")
                    plots[pname] = vecs
            finally:
                _release(ng)  # free the circuit and its plots: libngspice keeps every loaded circuit
        last = new[0]  # ngspice lists the newest plot first
        return SimResult(vectors=plots[last], plot=last, log=text, plots=plots)


def _get_vec(ng, fullname: str) -> np.ndarray:
    from PySpice.Spice.NgSpice.Shared import ffi

    info = ng._ngspice_shared.ngGet_Vec_Info(fullname.encode())
    n = info.v_length
    if info.v_realdata != ffi.NULL:
        return np.frombuffer(ffi.buffer(info.v_realdata, n * 8), dtype=np.float64).copy()
    raw = np.frombuffer(ffi.buffer(info.v_compdata, n * 16), dtype=np.float64)
    return raw[0::2] + 1j * raw[1::2]


def _first_error(text: str) -> str:
    """The first failure line of an ngspice log, joined with the line after it (which names the card)."""
    lines = [l.strip() for l in text.splitlines()]
    for i, l in enumerate(lines):
        if _FAILURE.search(l):
            # ngspice falls back from one operating-point method to the next (dynamic gmin -> true gmin ->
            # source stepping); a failed method followed by one that completes is not a failure
            if _STEP_FAILED.search(l) and any(_STEP_DONE.search(x) for x in lines[i + 1:]):
                continue
            nxt = next((x for x in lines[i + 1 : i + 3] if x), "")
            return f"{l} {nxt}".strip() if l.endswith(":") else l
    return ""


# --------------------------------------------------------------------------- registry


BACKENDS: dict[str, type[Backend]] = {
    "subprocess": SubprocessBackend,
    "pyspice": PySpiceBackend,
}


def get_backend(name: str) -> Backend:
    """Backend by name; an unknown name raises :class:`UnknownNameError` listing the valid ones."""
    try:
        return BACKENDS[name]()
    except KeyError:
        raise UnknownNameError("SPICE backend", name, BACKENDS) from None


def available_backends() -> dict[str, tuple[bool, str]]:
    return {n: cls().available() for n, cls in BACKENDS.items()}
