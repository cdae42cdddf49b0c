"""Are the stored policy versions the ones that were reviewed?

Publishing and retiring write keyed audit entries that name the version and its content
hash. Replaying the authentic ones (their HMAC checks with the audit key, which is not in
the database) gives the status every version should have. :func:`check` compares the store
with that replay: a published version must hash to its ``content_hash``, and that hash must
be the one recorded when a reviewer published it; a version the log says is published must
still be published. Whoever changes rules in the database without the key, with the
triggers of migration 0004 dropped or not, is caught here: a rewritten text, a version
published or resurrected by SQL, a version retired by SQL.

``policy.attested`` entries (``mianshen policies attest``) vouch for versions published
before the log was keyed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import audit
from store.errors import StoreError
from store.policies import PolicyVersionRecord, list_versions
from store.schema import audit_log

ProblemKind = Literal["hash_mismatch", "unattested", "changed_since_review", "status_changed"]
PUBLISHING = ("policy.published", "policy.attested")
RETIRING = ("policy.retired",)


@dataclass(frozen=True, kw_only=True)
class VersionProblem:
    version_id: int
    policy_id: str
    version: str
    kind: ProblemKind
    message: str


class TamperedPolicyError(StoreError):
    """Stored policy versions differ from what was reviewed; nothing may use them."""

    def __init__(self, problems: Sequence[VersionProblem]) -> None:
        self.problems = tuple(problems)
        listed = "; ".join(f"{p.policy_id} (version id {p.version_id}): {p.message}"
                           for p in self.problems[:5])
        super().__init__(f"{len(self.problems)} policy version(s) fail verification: {listed}")


def _reviewed_state(session: Session) -> dict[int, tuple[str, str | None]]:
    """{version_id: (status, content hash)} from the authentic publishing and retiring
    entries of the audit log, in log order."""
    key = audit.seal_of(session).key
    state: dict[int, tuple[str, str | None]] = {}
    rows = session.execute(
        select(audit_log).where(audit_log.c.action.in_(PUBLISHING + RETIRING))
        .order_by(audit_log.c.seq)
    )
    for row in rows:
        entry = audit._entry(row)
        if not audit.is_authentic(entry, key=key):
            continue  # an entry forged or edited without the key vouches for nothing
        version_id = entry.detail.get("version_id")
        if not isinstance(version_id, int):
            continue
        digest = entry.detail.get("content_hash")
        status = "retired" if entry.action in RETIRING else "published"
        state[version_id] = (status, digest if isinstance(digest, str) else None)
    return state


def check(session: Session) -> list[VersionProblem]:
    """Every published version that is not what was reviewed, and every version the log says
    is published that no longer is; [] when the store matches the log."""
    reviewed = _reviewed_state(session)
    problems: list[VersionProblem] = []
    versions = {v.id: v for v in list_versions(session)}

    def problem(v: PolicyVersionRecord, kind: ProblemKind, message: str) -> None:
        problems.append(VersionProblem(version_id=v.id, policy_id=v.policy_id,
                                       version=v.version, kind=kind, message=message))

    for v in versions.values():
        if v.status != "published":
            continue
        actual = hashlib.sha256(v.text.encode("utf-8")).hexdigest()
        status, digest = reviewed.get(v.id, ("", None))
        if not hmac.compare_digest(actual, v.content_hash):
            problem(v, "hash_mismatch", "its text does not hash to its stored content hash")
        elif status == "retired":
            problem(v, "status_changed", "retired according to the audit log, but published "
                    "in the store (brought back without review)")
        elif status != "published" or digest is None:
            problem(v, "unattested", "no authentic publishing record in the audit log "
                    "(published without review, or before the log was keyed)")
        elif not hmac.compare_digest(digest, actual):
            problem(v, "changed_since_review",
                    "its text differs from the text the reviewer published")
    for version_id, (status, _) in reviewed.items():
        found = versions.get(version_id)
        if status == "published" and (found is None or found.status != "published"):
            if found is None:
                problems.append(VersionProblem(
                    version_id=version_id, policy_id="?", version="?", kind="status_changed",
                    message="published according to the audit log, but missing from the store"))
            else:
                problem(found, "status_changed",
                        f"published according to the audit log, but {found.status!r} in the "
                        "store (retired or sent back without a record)")
    return problems


def verify_as_submitted(session: Session, version: PolicyVersionRecord) -> None:
    """:class:`TamperedPolicyError` unless ``version`` still hashes to its content hash and
    that hash is the one recorded (keyed) when it was last submitted for review: a text
    changed in the database after submission is never published."""
    key = audit.seal_of(session).key
    submitted = [
        e for e in audit.entries(session, subject=f"policy:{version.policy_id}",
                                 action="policy.in_review")
        if e.detail.get("version_id") == version.id and audit.is_authentic(e, key=key)
    ]
    actual = hashlib.sha256(version.text.encode("utf-8")).hexdigest()
    digest = submitted[-1].detail.get("content_hash") if submitted else None
    if not hmac.compare_digest(actual, version.content_hash):
        kind: ProblemKind = "hash_mismatch"
        message = "its text does not hash to its stored content hash"
    elif not isinstance(digest, str):
        kind, message = "unattested", "no authentic record of its submission for review"
    elif not hmac.compare_digest(digest, actual):
        kind, message = "changed_since_review", "its text differs from the text submitted"
    else:
        return
    raise TamperedPolicyError([VersionProblem(version_id=version.id, policy_id=version.policy_id,
                                              version=version.version, kind=kind,
                                              message=message)])


def verify(session: Session) -> None:
    """:class:`TamperedPolicyError` unless :func:`check` finds nothing."""
    problems = check(session)
    if problems:
        raise TamperedPolicyError(problems)
