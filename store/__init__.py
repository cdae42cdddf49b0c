"""mianshen: store — the database schema, migrations and repositories.

What has a life cycle lives here (DESIGN §7): policy versions and their review
(:mod:`store.policies`), runs (:mod:`store.runs`), entitlements (:mod:`store.entitlements`,
bulk paths in :mod:`store.entitlement_bulk`), pre-filled applications
(:mod:`store.applications`), the notification outbox (:mod:`store.outbox`), users
(:mod:`store.users`), database locks (:mod:`store.locks`) and the hash-chained audit log
(:mod:`store.audit`). Engines, migrations and sessions: :mod:`store.db`.

Repositories are plain functions taking a SQLAlchemy ``Session`` (the caller owns the
transaction, so changes and their outbox messages commit together) and returning frozen
keyword-only dataclasses. The store imports nothing else of this project.
"""
