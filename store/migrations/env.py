"""Alembic environment. ``store.db.upgrade`` passes a live connection in
``config.attributes["connection"]``; the ``alembic`` command line may instead set
``sqlalchemy.url`` (or ``MIANSHEN_DATABASE_URL``)."""

from __future__ import annotations

import os

from alembic import context

from store.schema import metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from store.db import make_engine

    url = config.get_main_option("sqlalchemy.url") or os.environ["MIANSHEN_DATABASE_URL"]
    engine = make_engine(url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


# Alembic imports this module inside a migration context; anything else (a doctest
# collector, an IDE) imports it without one and must not run migrations.
if hasattr(context, "config"):
    _main()
