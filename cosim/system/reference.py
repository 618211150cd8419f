"""Reference platforms (GPU/TPU): published measurements, labelled as such — never simulated.

Energy is given both ways the sources allow and never mixed: ``energy_tdp_j`` = board/chip power
limit × measured latency (an upper-bound style estimate, boundary: the accelerator board), and
``energy_measured_j`` = a published energy per sample (its own boundary, stated).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field

from ..errors import ConfigError, UnknownNameError
from ..resources import data_dir


@dataclass(frozen=True)
class ReferencePoint:
    platform: str
    model: str
    seq_len: int
    batch: int
    area_m2: float
    latency_s: float | None
    energy_tdp_j: float | None
    energy_measured_j: float | None
    adp_m2s: float | None
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())


def reference_platforms() -> list[str]:
    return sorted(p.stem for p in data_dir("architectures").glob("*.toml") if 'kind = "reference"' in p.read_text())


def load_reference(name: str) -> dict:
    if name not in reference_platforms():
        raise UnknownNameError("reference platform", name, reference_platforms())
    try:
        return tomllib.loads((data_dir("architectures") / f"{name}.toml").read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"reference platform {name}: {exc}") from None


def reference_point(name: str, model: str, seq_len: int, batch: int, decode_tokens: int = 0) -> ReferencePoint:
    """The published figures of ``name`` for one (model, seq_len, batch, decode_tokens); missing figures
    are None.  A measurement on several devices (``devices`` in its entry) counts their area and power."""
    d = load_reference(name)
    lat = [p for p in d.get("latency", []) if (p["model"], p["seq_len"], p["batch"], p.get("decode_tokens", 0))
           == (model, seq_len, batch, decode_tokens)]
    eps = [p for p in d.get("energy_per_sample", []) if (p["model"], p["seq_len"]) == (model, seq_len)]
    devices = int(lat[0].get("devices", 1)) if lat else 1
    area = float(d["die_area_m2"]) * devices
    sources = [f"die area: {d.get('die_area_note', '')}" + (f" x {devices} devices" if devices > 1 else ""),
               f"power: {d.get('tdp_note', '')}" + (f" x {devices} devices" if devices > 1 else "")]
    notes = ["reference data, not simulation"]
    latency = energy_tdp = adp = None
    if lat:
        latency = float(lat[0]["latency_s"])
        energy_tdp = float(lat[0].get("tdp_w", d["tdp_w"])) * devices * latency
        adp = area * latency
        sources.append(f"latency: {lat[0]['source']}")
    else:
        have = ", ".join(f"{p['model']}/seq {p['seq_len']}/batch {p['batch']}/decode {p.get('decode_tokens', 0)}"
                         for p in d.get("latency", [])) or "none"
        notes.append(f"no published latency for {model} seq {seq_len} batch {batch} decode {decode_tokens} "
                     f"(on file: {have})")
    measured = None
    if eps:
        measured = float(eps[0]["energy_j"]) * batch
        sources.append(f"energy per sample: {eps[0]['source']} [{eps[0]['boundary']}]")
    return ReferencePoint(name, model, seq_len, batch, area, latency, energy_tdp, measured, adp, tuple(sources), tuple(notes))
