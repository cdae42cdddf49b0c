"""The database schema (SQLAlchemy Core). Alembic migrations under ``store/migrations`` create
exactly this; a test compares the two.

What lives here has a life cycle (DESIGN §7); population-scale outcomes stay in Parquet.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from store.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Big integer keys on PostgreSQL, INTEGER PRIMARY KEY (rowid) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")

users = Table(
    "users",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("role", String(32), nullable=False),  # officer | reviewer | operator | system | ...
    Column("created_at", UTCDateTime(), nullable=False),
)

policies = Table(
    "policies",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("title", String(300), nullable=False),
    Column("entity", String(20), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

policy_versions = Table(
    "policy_versions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("policy_id", String(100), ForeignKey("policies.id"), nullable=False),
    Column("version", String(64), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("text", Text(), nullable=False),
    Column("effective_from", Date(), nullable=False),
    Column("effective_to", Date(), nullable=True),
    Column("status", String(16), nullable=False),  # draft in_review published retired
    Column("author", String(64), nullable=False),
    Column("reviewer", String(64), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("submitted_at", UTCDateTime(), nullable=True),
    Column("published_at", UTCDateTime(), nullable=True),
    Column("retired_at", UTCDateTime(), nullable=True),
    UniqueConstraint("policy_id", "version"),
    Index(None, "status", "policy_id"),
)

# Review decisions on policy versions (append-only): who approved or sent back which
# version, with the reason they had to give, and for an approval scheduled for a later date
# the day it goes live (migration 0009).
policy_reviews = Table(
    "policy_reviews",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("version_id", BigId, ForeignKey("policy_versions.id"), nullable=False),
    Column("reviewer", String(64), nullable=False),
    Column("decision", String(16), nullable=False),  # approved | rejected
    Column("reason", Text(), nullable=False),
    Column("publish_on", Date(), nullable=True),  # approved for a later day; NULL = at once
    Column("at", UTCDateTime(), nullable=False),
    Index(None, "version_id"),
)

# Roles a user holds besides ``users.role`` (e.g. an officer who is also a reviewer).
user_roles = Table(
    "user_roles",
    metadata,
    Column("user_id", String(64), ForeignKey("users.id"), primary_key=True),
    Column("role", String(32), primary_key=True),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(64), primary_key=True),  # deterministic from the inputs
    Column("entity_kind", String(20), nullable=False),
    Column("as_of", Date(), nullable=False),
    Column("snapshot_hash", String(64), nullable=False),
    Column("policy_versions", JSON(), nullable=False),  # {policy_id: version}
    Column("engine_version", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # running succeeded failed
    Column("attempts", Integer(), nullable=False),
    Column("counts", JSON(), nullable=True),
    Column("timings", JSON(), nullable=True),
    Column("error", Text(), nullable=True),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=True),
    Index(None, "entity_kind", "status", "finished_at"),
)

entitlements = Table(
    "entitlements",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("entity_kind", String(20), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("policy_id", String(100), nullable=False),
    Column("benefit_period", String(10), nullable=False),  # once | 2025 | 2025-11
    Column("policy_version", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),  # eligible undetermined superseded over_budget
    Column("amount_fen", BigInteger(), nullable=True),  # integer fen; NULL = unknown, never 0
    Column("amount_period", String(8), nullable=True),
    # what the amount is (rules.model.AmountKind: cash tax_saving deduction in_kind), as the
    # policy version that decided it says; pages and messages word the amount by it
    Column("amount_kind", String(16), nullable=False, server_default="cash"),
    Column("delivery", String(8), nullable=False),
    Column("unknown_fields", JSON(), nullable=True),
    Column("status", String(16), nullable=False),
    Column("reason", Text(), nullable=True),
    Column("first_run_id", String(64), nullable=False),
    Column("last_run_id", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    # The key, ordered so that it also serves a run's scan of (policy, period).
    UniqueConstraint(
        "entity_kind", "policy_id", "benefit_period", "entity_id", name="uq_entitlements_key"
    ),
    Index(None, "entity_id"),  # an entity's own entitlements
)

entitlement_events = Table(
    "entitlement_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("entitlement_id", BigId, ForeignKey("entitlements.id"), nullable=False),
    Column("run_id", String(64), nullable=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("kind", String(20), nullable=False),  # status | updated | reinstated
    Column("from_status", String(16), nullable=True),
    Column("to_status", String(16), nullable=True),
    Column("detail", JSON(), nullable=True),
    Column("reason", Text(), nullable=True),
    Index(None, "entitlement_id"),
)

applications = Table(
    "applications",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("entitlement_id", BigId, ForeignKey("entitlements.id"), nullable=False, unique=True),
    Column("status", String(16), nullable=False),  # draft submitted approved rejected withdrawn
    Column("prefilled", JSON(), nullable=False),
    Column("missing_fields", JSON(), nullable=False),
    Column("answers", JSON(), nullable=True),
    Column("decided_by", String(64), nullable=True),
    Column("reason", Text(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("submitted_at", UTCDateTime(), nullable=True),
    Column("decided_at", UTCDateTime(), nullable=True),
    Index(None, "status", "submitted_at"),  # the reviewers' queue
)

# What a recipient confirmed for a recurring benefit (taking it, the account to pay into):
# carried over to the later periods of the same policy until they change it (DESIGN §3).
standing_confirmations = Table(
    "standing_confirmations",
    metadata,
    Column("entity_kind", String(20), primary_key=True),
    Column("entity_id", String(64), primary_key=True),
    Column("policy_id", String(100), primary_key=True),
    Column("account", String(64), nullable=True),  # the receiving account as entered
    Column("entitlement_id", BigId, ForeignKey("entitlements.id"), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("confirmed_at", UTCDateTime(), nullable=False),
)

# One-click links: a short id in the message, resolved here to a signed, expiring token for
# one purpose on one entitlement; ``used_at`` makes it single-use.
links = Table(
    "links",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("token", Text(), nullable=False),
    Column("entitlement_id", BigId, ForeignKey("entitlements.id"), nullable=False),
    Column("purpose", String(16), nullable=False),  # confirm | apply | view
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime(), nullable=True),
    Index(None, "entitlement_id"),
)

# A recipient's own delivery preferences (我的订阅); absent = defaults (every channel it has
# an address for, every kind of policy, the channels' own quiet hours).
recipient_preferences = Table(
    "recipient_preferences",
    metadata,
    Column("entity_kind", String(20), primary_key=True),
    Column("entity_id", String(64), primary_key=True),
    Column("channels", JSON(), nullable=True),  # channel names wanted; NULL = all
    Column("muted_deliveries", JSON(), nullable=True),  # delivery modes not to be told of
    Column("quiet_start", String(5), nullable=True),  # HH:MM local
    Column("quiet_end", String(5), nullable=True),
    Column("email", String(200), nullable=True),  # an address the recipient gave
    Column("phone", String(32), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# Webhooks that an enterprise (or an integrator on its behalf) registered: URL + HMAC secret.
webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("entity_kind", String(20), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("url", String(500), nullable=False),
    Column("secret", String(200), nullable=False),
    Column("label", String(200), nullable=True),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Index(None, "entity_kind", "entity_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("detail", Text(), nullable=False),  # canonical JSON, hashed as written
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # hmac-sha256 (keyed, migration 0004 on) or sha256 (entries written before the key)
    Column("scheme", String(16), nullable=False, server_default="sha256"),
    Index(None, "action"),  # replaying the publishing records (store.policy_integrity)
)

# The head of the audit chain (one row), written with every entry: deleting the newest
# entries leaves the head pointing past the end of the chain. Every committed head is also
# exported outside the database (store.audit_heads), which detects a rewrite of both.
audit_head = Table(
    "audit_head",
    metadata,
    Column("name", String(20), primary_key=True),
    Column("seq", BigId, nullable=False),
    Column("hash", String(64), nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("recipient_kind", String(20), nullable=False),
    Column("recipient_id", String(64), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("payload", JSON(), nullable=False),
    Column("status", String(10), nullable=False),  # queued sending sent dead
    Column("attempts", Integer(), nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("lease_owner", String(100), nullable=True),
    Column("lease_until", UTCDateTime(), nullable=True),
    Column("last_error", Text(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=True),
    Column("provider_receipt", Text(), nullable=True),
    Index(None, "status", "next_attempt_at"),
)

# Which (change, channel) pairs a digest carried; a message of one change is keyed by the pair
# itself (``outbox.idempotency_key``) and has no row here. Together they say which changes
# were enqueued on which channel: a change is delivered at most once per channel, whatever
# reruns plan.
message_keys = Table(
    "message_keys",
    metadata,
    Column("key", String(200), primary_key=True),  # item key + channel (+ address id)
    Column("outbox_id", BigId, ForeignKey("outbox.id"), nullable=False),
)

# Each message item (one change as a message tells it: text, link, pre-filled application)
# stored once, named by a hash of its content: an outbox message names its items in its
# payload (``item_refs``), so a change told by SMS, e-mail and the inbox is one row here, not
# three copies; told again later in another form (a fresh link), it is a second row.
message_items = Table(
    "message_items",
    metadata,
    Column("ref", String(64), primary_key=True),  # sha256 of the item's JSON
    Column("policy_id", String(100), nullable=False),
    Column("payload", JSON(), nullable=False),
)

# Profile updates the event worker applied since a snapshot (matcher.events): what pages
# explain with between nights, as the worker decided with it. ``snapshot_hash`` names the
# snapshot the worker loaded: a later run's snapshot supersedes them.
profile_updates = Table(
    "profile_updates",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("entity_kind", String(16), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("snapshot_hash", String(64), nullable=False),
    Column("line", BigInteger(), nullable=False),  # the event's line in its stream
    Column("run_id", String(64), nullable=False),  # the batch that wrote its changes
    Column("fields", JSON(), nullable=False),  # base field -> value (dates ISO); null = unknown
    Column("created_at", UTCDateTime(), nullable=False),
    # an event applied again (at least once) is recorded once
    UniqueConstraint("entity_kind", "snapshot_hash", "line"),
)

locks = Table(
    "locks",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("until", UTCDateTime(), nullable=False),
    Column("acquired_at", UTCDateTime(), nullable=False),
)

# Login credentials of users: a password hash and, for enterprise and citizen accounts, the
# entity the account stands for; API keys for systems, stored as sha256 hashes (migration 0003).
api_accounts = Table(
    "api_accounts",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("password_hash", String(200), nullable=False),
    Column("entity_kind", String(20), nullable=True),
    Column("entity_id", String(64), nullable=True),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_hash", String(64), primary_key=True),  # sha256 of the key; shown once
    Column("user_id", String(64), nullable=False),
    Column("label", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# Login tokens revoked before they expire (logout); a row can go once its token has expired.
revoked_tokens = Table(
    "revoked_tokens",
    metadata,
    Column("token_id", String(64), primary_key=True),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=False),
    Index(None, "expires_at"),
)

# Counters of the login limits (per client address, per account name) in fixed windows;
# shared by every process of the service (Redis replaces this table when configured).
rate_counters = Table(
    "rate_counters",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("bucket", BigInteger(), primary_key=True, autoincrement=False),
    Column("count", Integer(), nullable=False),
    Index(None, "bucket"),
)

# Retiring a published policy version takes two people: one asks, a reviewer who is not the
# one who asked approves (or rejects) it.
policy_retirements = Table(
    "policy_retirements",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("version_id", BigId, ForeignKey("policy_versions.id"), nullable=False),
    Column("status", String(16), nullable=False),  # pending approved rejected
    Column("reason", Text(), nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", UTCDateTime(), nullable=True),
    Column("decision_reason", Text(), nullable=True),
    Index(None, "version_id", "status"),
)

# The award ledger (DESIGN §7): awards imported from earlier systems, one per (entity, policy,
# benefit period); the system's own grants are its confirmed and paid entitlements
# (store.awards reads both). ``award_coverage`` says from which date the ledger holds every
# award of a policy: before it, "no award on record" is not "never awarded".
awards = Table(
    "awards",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("entity_kind", String(20), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("policy_id", String(100), nullable=False),
    Column("benefit_period", String(10), nullable=False),  # once | 2025 | 2025-11
    Column("amount_fen", BigInteger(), nullable=False),
    Column("granted_on", Date(), nullable=False),
    Column("source", String(200), nullable=False),  # the import file and line it came from
    Column("imported_by", String(64), nullable=False),
    Column("imported_at", UTCDateTime(), nullable=False),
    UniqueConstraint(
        "entity_kind", "policy_id", "benefit_period", "entity_id", name="uq_awards_key"
    ),
    Index(None, "entity_kind", "policy_id"),
)

award_coverage = Table(
    "award_coverage",
    metadata,
    Column("entity_kind", String(20), primary_key=True),
    Column("policy_id", String(100), primary_key=True),
    Column("complete_from", Date(), nullable=False),
    Column("declared_by", String(64), nullable=False),
    Column("declared_at", UTCDateTime(), nullable=False),
)
