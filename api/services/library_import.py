"""Importing policy files for review, and the demo's explicit review of what it imported.

An import never publishes: the versions wait in review, authored by the officer who imported
them, until a reviewer who is someone else approves each one (四眼原则). Upgrading the
package therefore changes no live rule by itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from sqlalchemy import Engine, select

from store import policies as policy_store
from store.db import transaction
from store.policies import PolicyVersionRecord
from store.schema import users


class ImportRefused(Exception):
    """The import cannot be done as asked; the message is Chinese (shown as it is)."""


@dataclass(frozen=True, kw_only=True)
class ImportResult:
    created: tuple[PolicyVersionRecord, ...]  # in review, and drafts marked 待核
    skipped: int
    source: str

    @property
    def in_review(self) -> tuple[PolicyVersionRecord, ...]:
        return tuple(v for v in self.created if v.status == "in_review")

    @property
    def unverified(self) -> tuple[PolicyVersionRecord, ...]:
        """Drafts marked 待核: imported, never submitted until verified."""
        return tuple(v for v in self.created if v.status == "draft")


def _package_version() -> str:
    try:
        return metadata.version("mianshen")
    except metadata.PackageNotFoundError:
        return "unknown"


def _require_role(engine: Engine, user_id: str, role: str, what: str) -> None:
    from store import users as user_store

    with transaction(engine, write=False) as session:
        found = session.execute(select(users.c.id).where(users.c.id == user_id)).scalar()
        held = user_store.roles_of(session, user_id) if found is not None else frozenset()
    if role not in held:
        shown = "不存在" if found is None else f"没有该角色（现有：{'、'.join(sorted(held))}）"
        raise ImportRefused(f"{what}应为{'政策业务人员' if role == 'officer' else '审核人员'}"
                            f"账号，{user_id!r} {shown}")


def import_library(engine: Engine, *, author: str,
                   paths: Sequence[Path] = ()) -> ImportResult:
    """Import the policy files under ``paths`` (default: the bundled library) as versions
    awaiting review, authored by ``author`` (an officer account). Files are checked by the
    rule loader first; an invalid file imports nothing. A policy marked 待核 is imported as a
    draft that cannot be submitted until it is verified."""
    from matcher.runs import library_documents
    from rules.loader import bundled_library, load_library

    _require_role(engine, author, "officer", "导入人")
    if paths:
        library = load_library(list(paths), base=bundled_library())
        source = "files " + ", ".join(str(p) for p in paths)
        chosen = [p for p in library.policies.values()
                  if p.source and any(Path(p.source).resolve().is_relative_to(Path(x).resolve())
                                      or Path(p.source).resolve() == Path(x).resolve()
                                      for x in paths)]
    else:
        library = bundled_library()
        source = f"bundled library of mianshen {_package_version()}"
        chosen = list(library.policies.values())
    docs = library_documents(chosen)
    with transaction(engine) as session:
        created = policy_store.import_for_review(session, docs, author=author, source=source)
    return ImportResult(created=tuple(created), skipped=len(docs) - len(created), source=source)


def approve_versions(engine: Engine, versions: Sequence[PolicyVersionRecord], *,
                     reviewer: str, reason: str) -> list[PolicyVersionRecord]:
    """Publish ``versions`` as ``reviewer`` (a reviewer account), with the reviewer's
    ``reason`` recorded for each; four eyes enforced by the store (the reviewer wrote none of
    them). Only versions in review are approved: drafts (marked 待核) are left as they are."""
    _require_role(engine, reviewer, "reviewer", "审核人")
    with transaction(engine) as session:
        return [policy_store.publish(session, v.id, reviewer=reviewer, reason=reason)
                for v in versions if v.status == "in_review"]
