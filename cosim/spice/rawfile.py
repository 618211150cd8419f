"""Reader for ngspice raw files (binary and ASCII), as written by ``ngspice -b -r FILE``.

A file holds one or more plots, each a text header (``Title:``, ``Plotname:``, ``Flags:``,
``No. Variables:``, ``No. Points:``, ``Variables:``) followed by ``Binary:`` (little-endian
float64, point-major; complex plots store two doubles per value) or ``Values:`` (ASCII).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import SimulationError


@dataclass
class RawPlot:
    title: str
    plotname: str
    flags: str
    names: list[str]
    types: list[str]
    data: dict[str, np.ndarray] = field(default_factory=dict)


def _header(buf: bytes, pos: int) -> tuple[dict, list[tuple[str, str]], int, str]:
    meta: dict[str, str] = {}
    variables: list[tuple[str, str]] = []
    in_vars = False
    while pos < len(buf):
        end = buf.index(b"\n", pos)
        line = buf[pos:end].decode("ascii", "replace").rstrip("\r")
        pos = end + 1
        if line in ("Binary:", "Values:"):
            return meta, variables, pos, line[:-1]
        if in_vars:
            parts = line.split()
            if len(parts) >= 3 and parts[0].isdigit():
                variables.append((parts[1], parts[2]))
                continue
            in_vars = False
        if line.startswith("Variables:"):
            in_vars = True
            continue
        key, _, value = line.partition(":")
        meta[key.strip()] = value.strip()
    raise SimulationError("truncated ngspice raw file (no Binary:/Values: section)")


def read_raw(path: str | Path) -> list[RawPlot]:
    """Parse every plot in a raw file; a truncated or malformed file raises SimulationError."""
    try:
        return _read_raw(Path(path).read_bytes())
    except SimulationError:
        raise
    except (ValueError, IndexError, OSError) as exc:
        raise SimulationError(f"unreadable ngspice raw file {path}: {exc}") from None


def _read_raw(buf: bytes) -> list[RawPlot]:
    pos, plots = 0, []
    while pos < len(buf) and buf[pos:].strip():
        meta, variables, pos, kind = _header(buf, pos)
        try:
            nvar, npts = int(meta["No. Variables"]), int(meta["No. Points"])
        except (KeyError, ValueError):
            raise SimulationError(f"malformed ngspice raw file header: {meta}") from None
        complex_ = "complex" in meta.get("Flags", "")
        width = 2 if complex_ else 1
        names = [n.lower() for n, _ in variables]
        if kind == "Binary":
            count = nvar * npts * width
            arr = np.frombuffer(buf, dtype="<f8", count=count, offset=pos)
            pos += 8 * count
            arr = arr.reshape(npts, nvar * width)
            if complex_:
                arr = arr[:, 0::2] + 1j * arr[:, 1::2]
        else:  # ASCII "Values:": index, then one value per line for each variable
            arr = np.empty((npts, nvar), dtype=complex if complex_ else float)
            lines = buf[pos:].decode("ascii").splitlines()
            li = 0
            for p in range(npts):
                for v in range(nvar):
                    while not lines[li].strip():
                        li += 1
                    tok = lines[li].split()[-1] if v == 0 else lines[li].strip()
                    li += 1
                    if complex_:
                        re_, im_ = tok.split(",")
                        arr[p, v] = complex(float(re_), float(im_))
                    else:
                        arr[p, v] = float(tok)
            pos = len(buf)  # ASCII files written by ngspice -r hold one plot per file here
        plot = RawPlot(meta.get("Title", ""), meta.get("Plotname", ""), meta.get("Flags", ""),
                       names, [t for _, t in variables])
        for i, n in enumerate(names):
            plot.data[n] = np.array(arr[:, i])
        plots.append(plot)
        while pos < len(buf) and buf[pos:pos + 1] in (b"\n", b"\r"):
            pos += 1
    return plots
