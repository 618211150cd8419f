"""Shared fixtures.  Tests that need ngspice carry ``@pytest.mark.spice``.

``COSIM_SPICE_TESTS`` switches them: ``required`` (CI: a missing ngspice is a failure),
``auto`` (default: skipped when ngspice is missing), ``off`` (always skipped).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    mode = os.environ.get("COSIM_SPICE_TESTS", "auto")
    have = shutil.which("ngspice") is not None
    if mode == "off" or (mode == "auto" and not have):
        skip = pytest.mark.skip(reason=f"ngspice tests disabled (COSIM_SPICE_TESTS={mode}, ngspice found: {have})")
        for item in items:
            if "spice" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def quick_table(tmp_path_factory):
    """A quick crossbar calibration made by this test run (needs ngspice)."""
    from cosim.calibration.crossbar import calibrate, load_spec
    from cosim.store import write_table

    path = tmp_path_factory.mktemp("cal") / "crossbar.h5"
    table = calibrate(load_spec(quick=True), n_jobs=2)
    table.attrs["quick"] = True
    write_table(table, path)
    return path


@pytest.fixture
def golden():
    return HERE / "golden"
