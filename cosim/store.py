"""HDF5 calibration tables: schema-checked, unit-tagged, with provenance, written atomically.

Layout of a table file::

    /                 attrs: schema (e.g. "cosim.crossbar"), schema_version, cosim_version,
                             ngspice_version, created (ISO 8601, UTC), attrs_json (free metadata)
    /provenance       attrs: sources_json ({relative path: sha256} of every template and model
                             card used), spec (the sweep spec, TOML text), seed
    /data/<name>      datasets, each with a ``units`` attribute ("1" for dimensionless)

Writes go to a temporary file in the target's folder and then replace the target
(``os.replace``), so a reader never sees half a table and a failed run leaves the old one intact.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .errors import CalibrationError

#: Version of the on-disk layout for each table kind this build knows how to read.
SCHEMA_VERSIONS: dict[str, int] = {"cosim.crossbar": 1, "cosim.adc": 2, "cosim.sar": 3, "cosim.nonlinear": 1}


def calibrate_command(schema: str) -> str:
    """The command that regenerates a table of ``schema``."""
    return "cosim calibrate " + {"cosim.sar": "adc --kind sar-cdac"}.get(schema, schema.split(".")[-1])


def sha256_file(path: str | os.PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass
class Table:
    """An in-memory calibration table."""

    schema: str
    data: dict[str, np.ndarray] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    spec: str = ""
    seed: int = 0
    ngspice_version: str = ""
    cosim_version: str = __version__
    created: str = ""
    path: Path | None = None

    def put(self, name: str, value, units: str) -> None:
        self.data[name] = np.asarray(value)
        self.units[name] = units

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.data[name]
        except KeyError:
            where = f" {self.path}" if self.path else ""
            raise CalibrationError(
                f"calibration table{where} has no dataset {name!r}; regenerate it with "
                f"'{calibrate_command(self.schema)}'"
            ) from None

    def __contains__(self, name: str) -> bool:
        return name in self.data


def write_table(table: Table, path: str | os.PathLike) -> Path:
    """Write ``table`` to ``path`` atomically (temporary file in the same folder, then replace)."""
    import h5py

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if table.schema not in SCHEMA_VERSIONS:
        raise CalibrationError(f"unknown table schema {table.schema!r}")
    created = table.created or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a table is an ordinary shared file
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["schema"] = table.schema
            f.attrs["schema_version"] = SCHEMA_VERSIONS[table.schema]
            f.attrs["cosim_version"] = table.cosim_version
            f.attrs["ngspice_version"] = table.ngspice_version
            f.attrs["created"] = created
            f.attrs["attrs_json"] = json.dumps(table.attrs, sort_keys=True)
            prov = f.create_group("provenance")
            prov.attrs["sources_json"] = json.dumps(table.sources, sort_keys=True)
            prov.attrs["spec"] = table.spec
            prov.attrs["seed"] = int(table.seed)
            grp = f.create_group("data")
            for name, value in table.data.items():
                arr = np.asarray(value)
                if arr.dtype.kind == "U":
                    arr = arr.astype(h5py.string_dtype())
                ds = grp.create_dataset(name, data=arr)
                ds.attrs["units"] = table.units[name]
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    table.path, table.created = path, created
    return path


def read_table(path: str | os.PathLike, schema: str) -> Table:
    """Load a table, refusing one of another kind, an unknown schema version or a corrupt file."""
    import h5py

    path = Path(path)
    regen = f"regenerate it with '{calibrate_command(schema)} --out {path}'"
    if not path.is_file():
        raise CalibrationError(f"calibration table {path} not found; {regen}")
    try:
        with h5py.File(path, "r") as f:
            got = f.attrs.get("schema")
            if got != schema:
                raise CalibrationError(f"{path} holds a {got!r} table, not {schema!r}")
            version = int(f.attrs.get("schema_version", -1))
            if version != SCHEMA_VERSIONS[schema]:
                raise CalibrationError(
                    f"{path} has schema version {version}, this cosim reads version "
                    f"{SCHEMA_VERSIONS[schema]}; {regen}"
                )
            t = Table(
                schema=schema,
                attrs=json.loads(f.attrs["attrs_json"]),
                sources=json.loads(f["provenance"].attrs["sources_json"]),
                spec=str(f["provenance"].attrs["spec"]),
                seed=int(f["provenance"].attrs["seed"]),
                ngspice_version=str(f.attrs["ngspice_version"]),
                cosim_version=str(f.attrs["cosim_version"]),
                created=str(f.attrs["created"]),
                path=path,
            )
            datasets = []
            f["data"].visititems(lambda name, obj: datasets.append((name, obj)) if isinstance(obj, h5py.Dataset) else None)
            for name, ds in datasets:
                value = ds.asstr()[()] if ds.dtype.kind == "O" else ds[()]
                t.data[name] = np.asarray(value)
                t.units[name] = str(ds.attrs["units"])
    except CalibrationError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise CalibrationError(f"{path} is not a readable cosim table ({exc}); {regen}") from None
    return t


def stale_sources(table: Table, root: Path) -> list[str]:
    """Relative paths whose current SHA-256 differs from the one recorded in ``table``."""
    stale = []
    for rel, digest in table.sources.items():
        p = root / rel
        if not p.is_file() or sha256_file(p) != digest:
            stale.append(rel)
    return stale
