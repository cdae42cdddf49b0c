"""What identifies a run: every input that can change an outcome (DESIGN §3, "Reproducible").

A run's id is a hash of :class:`RunInputs`: the snapshot's content hash and the sha256 of
every source file it was built from, the policy versions, the named sets, the reference
tables (region codes, industry classes, the tag catalog) and the catalog version, the
tag-model version, the as-of date, and the engine version -- the installed package's version
plus a hash of the engine's own code, so that a fixed bug reruns what it decided. Changing
any one of them is a new run; the same inputs are the same run (and a rerun changes nothing).

>>> inputs = RunInputs(entity="person", as_of=dt.date(2025, 11, 1), snapshot="ab",
...                    sources={}, policies={"p": "v1"}, sets="s", reference_tables="r",
...                    catalog_version=1, tag_model=None, engine="0.1.0")
>>> inputs.run_id()
'run-2025-11-01-person-628e51694f28'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any

DISTRIBUTION = "mianshen"
ENGINE_PACKAGES = ("profiles", "rules", "matcher")
REFERENCE_TABLES = ("regions.csv", "industries.yaml", "industry_divisions.yaml", "catalog.yaml")


@dataclass(frozen=True, kw_only=True)
class RunInputs:
    entity: str
    as_of: dt.date
    snapshot: str  # content hash of the snapshot (profiles.build.canonical_hash)
    sources: Mapping[str, str] = field(default_factory=dict)  # source file -> sha256
    policies: Mapping[str, str] = field(default_factory=dict)  # policy id -> version
    sets: str = ""  # hash of the named sets
    reference_tables: str = ""  # hash of region, industry and catalog tables
    catalog_version: int | None = None
    tag_model: str | None = None  # version of the tag model, if tags were inferred
    engine: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        data["sources"] = dict(sorted(self.sources.items()))
        data["policies"] = dict(sorted(self.policies.items()))
        return data

    def run_id(self, *, after: str | None = None) -> str:
        """The id of a run of these inputs; ``after``: the id of the run of the same date
        that changed the store since these inputs last ran (they apply again)."""
        data = self.to_dict()
        if after is not None:
            data["after"] = after
        body = json.dumps(data, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(body.encode()).hexdigest()[:12]
        return f"run-{self.as_of.isoformat()}-{self.entity}-{digest}"


def _sha256(parts: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()


@cache
def engine_version() -> str:
    """``<installed version>+src.<hash>``: the package's version from its metadata and a
    hash of the code of the packages that decide outcomes (profiles, rules, matcher)."""
    try:
        version = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        version = "unpackaged"
    files: list[bytes] = []
    for package in ENGINE_PACKAGES:
        root = Path(str(resources.files(package)))
        for path in sorted(root.rglob("*.py")):
            files.append(str(path.relative_to(root.parent)).encode())
            files.append(path.read_bytes())
    return f"{version}+src.{_sha256(files)[:12]}"


@cache
def reference_tables_hash() -> str:
    """Hash of the bundled reference tables that derived tags and rules read."""
    data = resources.files("profiles").joinpath("data")
    return _sha256(
        part
        for name in REFERENCE_TABLES
        for part in (name.encode(), data.joinpath(name).read_bytes())
    )


def sets_hash(sets: Any) -> str:
    """Hash of the named sets (name, kind, items), or ``""`` when there are none."""
    if not sets:
        return ""
    body = {
        name: [str(getattr(s, "kind", "")), sorted(str(i) for i in getattr(s, "items", ()))]
        for name, s in sorted(sets.items())
    }
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def snapshot_sources(meta: Mapping[str, Any]) -> dict[str, str]:
    """``{file: sha256}`` of the source files a snapshot's metadata lists."""
    out: dict[str, str] = {}
    for s in meta.get("sources") or ():
        if isinstance(s, Mapping):
            out[str(s.get("file") or s.get("source"))] = str(s.get("sha256") or "")
    return out


def tag_model_version(meta: Mapping[str, Any]) -> str | None:
    model = meta.get("tag_model")
    if isinstance(model, Mapping) and model.get("version") is not None:
        return str(model["version"])
    return None
