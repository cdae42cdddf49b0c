"""Errors of the store. One root, :class:`StoreError`; each subclass carries its fields."""

from __future__ import annotations


class StoreError(Exception):
    """Root error of the store package."""


class NotFoundError(StoreError, LookupError):
    def __init__(self, kind: str, key: object) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {key!r} not found")


class TransitionError(StoreError):
    """A status change that the life cycle does not allow."""

    def __init__(self, kind: str, key: object, from_status: str, to_status: str) -> None:
        self.kind = kind
        self.key = key
        self.from_status = from_status
        self.to_status = to_status
        super().__init__(
            f"{kind} {key!r}: status change {from_status!r} -> {to_status!r} is not allowed"
        )


class FourEyesError(StoreError):
    """The reviewer of a policy version wrote it: its author, or an editor of the draft; or
    the approver of a retirement is the one who asked for it (``role="requester"``) (四眼原则,
    per person whatever roles they hold)."""

    def __init__(self, version_id: int, user: str, *, role: str = "author") -> None:
        self.version_id = version_id
        self.user = user
        self.role = role
        super().__init__(
            f"policy version {version_id}: the reviewer must not be its {role} ({user!r}); "
            "expected a second person"
        )


class ImmutableVersionError(StoreError):
    """An attempt to change a policy version that is no longer a draft."""

    def __init__(self, version_id: int, status: str) -> None:
        self.version_id = version_id
        self.status = status
        super().__init__(
            f"policy version {version_id} is {status!r}; only a draft can be edited "
            "(create a new version instead)"
        )


class LeaseError(StoreError):
    """An outbox row is not leased by the worker that tries to settle it."""

    def __init__(self, message_id: int, worker: str) -> None:
        self.message_id = message_id
        self.worker = worker
        super().__init__(
            f"outbox message {message_id} is not leased by worker {worker!r} "
            "(lease expired or claimed by another worker)"
        )


class UnverifiedPolicyError(StoreError):
    """A draft marked 待核 (its 文号, dates or amounts not verified against the source) cannot
    be submitted for publishing until it is verified."""

    def __init__(self, policy_id: str, version_id: int) -> None:
        self.policy_id = policy_id
        self.version_id = version_id
        super().__init__(f"policy {policy_id!r} version {version_id} is marked 待核 "
                         "(verification: 待核); expected a verified text before review")
