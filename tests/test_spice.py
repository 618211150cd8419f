"""SPICE backends: same numbers both ways, full precision, errors and timeouts contained."""

import subprocess

import numpy as np
import pytest

from cosim.errors import BackendUnavailableError, SimulationError, UnknownNameError
from cosim.netlist import CrossbarParams, Inputs, Op, render_crossbar
from cosim.spice import get_backend
from cosim.spice.base import SubprocessBackend, _first_error

pytestmark = pytest.mark.spice

DIVIDER = "* divider\nV1 a 0 1\nR1 a b 1k\nR2 b 0 3k\n.op\n.end\n"


@pytest.mark.parametrize("name", ["subprocess", "pyspice"])
def test_divider_full_precision(name):
    res = get_backend(name).run(DIVIDER, timeout=60)
    assert res["v(b)"][0] == pytest.approx(0.75, rel=1e-15)
    assert res["i(v1)"][0] == pytest.approx(-0.25e-3, rel=1e-15)
    assert "Unsupported Ngspice" not in res.log and "compatibility mode" not in res.log


@pytest.mark.parametrize("kind", ["passive", "passive_sinh", "1t1r"])
def test_backends_agree_on_crossbar(rng, kind):
    G = rng.uniform(1e-6, 1e-4, (6, 5))
    V = rng.uniform(0, 0.5, (3, 6))
    text = render_crossbar(CrossbarParams(kind=kind), G, Inputs(V))
    a = get_backend("subprocess").run(text, timeout=120)
    b = get_backend("pyspice").run(text, timeout=120)
    for j in range(5):
        np.testing.assert_allclose(a[f"i(vsense{j})"], b[f"i(vsense{j})"], rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", ["subprocess", "pyspice"])
@pytest.mark.parametrize("bad, what", [
    ("* bad\nR1 a 0 notanumber\n.op\n.end\n", "r1 a 0 notanumber"),
    ("* bad\nV1 a 0 1\nM1 a a 0 0 nosuchmodel\n.op\n.end\n", "nosuchmodel"),
    ("* bad\nV1 a 0 1\nV2 a 0 2\n.op\n.end\n", "singular"),
])
def test_errors_become_simulation_errors(name, bad, what):
    with pytest.raises(SimulationError) as exc:
        get_backend(name).run(bad, timeout=60)
    assert what in str(exc.value).lower() or what in exc.value.log.lower()
    assert exc.value.netlist == bad and exc.value.log


@pytest.mark.parametrize("name", ["subprocess", "pyspice"])
def test_timeout_and_recovery(name, rng):
    G = rng.uniform(1e-6, 1e-4, (40, 40))
    slow = render_crossbar(CrossbarParams(), G, Inputs(rng.uniform(0, 0.5, (30, 40))))
    be = get_backend(name)
    with pytest.raises(SimulationError, match="timed out"):
        be.run(slow, timeout=0.05)
    assert be.run(DIVIDER, timeout=60)["v(b)"][0] == pytest.approx(0.75)  # usable afterwards


def test_missing_executable():
    be = SubprocessBackend("no-such-ngspice-binary")
    assert not be.available()[0]
    with pytest.raises(BackendUnavailableError, match="apt-get install ngspice"):
        be.run(DIVIDER)


def test_unknown_backend_lists_valid():
    with pytest.raises(UnknownNameError, match="pyspice, subprocess"):
        get_backend("hspice")


@pytest.mark.parametrize("kind", ["passive", "passive_sinh", "1t1r"])
def test_rendered_netlist_runs_by_hand(tmp_path, rng, kind):
    G = rng.uniform(1e-6, 1e-4, (4, 4))
    path = tmp_path / "x.cir"
    path.write_text(render_crossbar(CrossbarParams(kind=kind), G, Op(rng.uniform(0, 0.5, 4))))
    out = subprocess.run(["ngspice", "-b", str(path)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    # batch .op prints the model cards, where "<<NAN, error = 7>>" marks unset parameters: not a failure
    assert _first_error(out.stdout + out.stderr) == ""
    assert "vsense0#branch" in out.stdout.lower()


def test_operating_point_fallbacks_are_not_failures():
    """ngspice tries dynamic gmin, then true gmin, then source stepping: a method that fails followed by
    one that completes is a converged point; the last method failing is an error."""
    from cosim.spice.base import _first_error

    ok = "Note: Starting dynamic gmin stepping\nWarning: Dynamic gmin stepping failed\n" \
         "Note: Starting true gmin stepping\nNote: True gmin stepping completed\n"
    assert _first_error(ok) == ""
    bad = ok.replace("True gmin stepping completed", "True gmin stepping failed") + \
        "Warning: source stepping failed\n"
    assert "stepping failed" in _first_error(bad)


def test_non_converging_point_is_retried_relaxed_and_recorded():
    """A point that does not converge is run again with the relaxed options (recorded as an event and on
    the result); one that still fails raises the first error; a rejected netlist is not retried."""
    from cosim import events
    from cosim.errors import SimulationError
    from cosim.spice.base import RELAXED_OPTIONS, Backend, SimResult, relaxed

    class Flaky(Backend):
        name = "flaky"

        def __init__(self, cured: bool, message: str = "doAnalyses: TRAN:  Timestep too small"):
            self.cured, self.message, self.seen = cured, message, []

        def available(self):
            return True, ""

        def version(self):
            return "39"

        def run_text(self, netlist, timeout):
            self.seen.append(netlist)
            if RELAXED_OPTIONS in netlist and self.cured:
                return SimResult({"v(a)": np.array([1.0])}, "op")
            raise SimulationError(f"ngspice failed: {self.message}")

    text = "* t\nV1 a 0 1\nR1 a 0 1k\n.op\n.end\n"
    assert relaxed(text).splitlines()[-2] == f".options {RELAXED_OPTIONS}" and relaxed(text).endswith(".end\n")
    events.drain()
    b = Flaky(cured=True)
    r = b.run(text)
    assert r.relaxed == RELAXED_OPTIONS and len(b.seen) == 2
    (kind, detail), = events.drain()
    assert kind == "relaxed" and "Timestep too small" in detail
    with pytest.raises(SimulationError, match="Timestep too small"):
        Flaky(cured=False).run(text)
    syntax = Flaky(cured=True, message="unknown model 'nmoss'")
    with pytest.raises(SimulationError, match="unknown model"):
        syntax.run(text)
    assert len(syntax.seen) == 1 and events.drain() == []
