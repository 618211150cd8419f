"""Property-based tests (issue 7): generated configs, tables and arrays thrown at the loaders, the models
and the CLI.  Whatever the input, the answer is a result or one of cosim's own errors (a clear line and
exit status 2 from the CLI) — never an uncaught exception, never a changed file."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cosim.errors import CosimError

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

values = st.one_of(
    st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.text(max_size=12), st.lists(st.integers(-5, 5), max_size=3), st.none(),
    st.sampled_from(["analog", "digital", "ptat", "raw", "1e-9", "-1", "nan", "inf", "0", "128", ""]),
)


def _fields():
    from cosim.system.arch import load_arch

    a = load_arch("large-small")
    out = []
    for sec in dataclasses.fields(a):
        v = getattr(a, sec.name)
        if dataclasses.is_dataclass(v):
            out += [f"{sec.name}.{f.name}" for f in dataclasses.fields(v)]
        else:
            out.append(sec.name)
    return out


FIELDS = _fields()


@SETTINGS
@given(st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)), values, max_size=3))
def test_arch_overrides_give_an_arch_or_a_config_error(overrides):
    from cosim.system.arch import load_arch

    try:
        load_arch("large-small", overrides)
    except CosimError:
        pass


# each example is a whole system run: fewer of them, and no shrinking (a failure prints its example)
@settings(max_examples=25, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(FIELDS), value=values)
def test_cli_set_never_tracebacks(field, value, capsys):
    """`cosim run --set FIELD=VALUE` with a generated value: exit 0 or 2 (one error line), nothing else."""
    from cosim.cli import main

    rc = main(["run", "--model", "bert-base", "--arch", "large-small", "--seq-len", "16", "--set",
               f"{field}={value}"])
    err = capsys.readouterr().err
    assert rc in (0, 2)
    if rc == 2:
        assert err.startswith("cosim: error:") and len(err.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def table_bytes():
    from cosim.resources import calibration_dir

    return (calibration_dir() / "nonlinear.h5").read_bytes()


@SETTINGS
@given(truncate=st.booleans(), cut=st.floats(0, 1, exclude_max=True),
       flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), min_size=1, max_size=20))
def test_damaged_tables_are_refused_cleanly(tmp_path_factory, table_bytes, truncate, cut, flips):
    """A truncated or bit-flipped table: loaded (when the damage missed everything that matters) or one
    CalibrationError naming the file — and the file is left as it was."""
    from cosim.models import nonlinear as nl
    from cosim.store import read_table

    p = tmp_path_factory.mktemp("t") / "nl.h5"
    raw = bytearray(table_bytes)
    if truncate:
        raw = raw[: int(cut * len(raw))]
    else:
        for where, mask in flips:
            raw[int(where * len(raw))] ^= mask
    p.write_bytes(bytes(raw))
    try:
        t = read_table(p, "cosim.nonlinear")
        sm = nl.load_softmax("nominal", p)
        sm(np.array([[0.0, 1.0, -2.0]]))
        assert t.schema == "cosim.nonlinear"
    except CosimError as exc:
        assert str(p) in str(exc) or "nonlinear" in str(exc)
    assert p.read_bytes() == bytes(raw)
    nl._table.cache_clear()


@SETTINGS
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=12),
                  elements=st.floats(allow_nan=True, allow_infinity=True, width=64)))
def test_softmax_model_on_any_array(x):
    from cosim.models.nonlinear import load_softmax

    sm = load_softmax("nominal")
    try:
        r = sm(x)
    except CosimError:
        return
    assert r.p.shape == x.shape and np.all(np.isfinite(r.p)) and np.all(r.p >= 0)


@SETTINGS
@given(hnp.arrays(np.float64, st.integers(1, 40), elements=st.floats(allow_nan=True, allow_infinity=True)),
       st.sampled_from([1, 2]), st.sampled_from(["nominal", "hot", "cold"]))
def test_flash_adc_model_on_any_currents(i_in, bits, corner):
    from cosim.models.adc import load

    adc = load("flash-current", bits, corner)
    try:
        codes = adc.codes(i_in)
    except CosimError:
        return
    assert codes.shape == i_in.shape and np.all((codes >= 0) & (codes < 2**bits))


@SETTINGS
@given(text=st.text(max_size=200))
def test_sweep_specs_from_garbage(text, tmp_path_factory):
    from cosim.calibration.nonlinear import load_spec

    p = tmp_path_factory.mktemp("s") / "spec.toml"
    p.write_text(text)
    try:
        load_spec(p)
    except CosimError:
        pass
