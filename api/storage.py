"""The store as this service opens it: an engine for the settings' database carrying the
audit seal (the audit key and the exported-head file, both outside the database).

Every entry point (CLI, HTTP app, scheduler, demo) opens the database through
:func:`open_engine`, so that every audit entry is keyed with the same key and every
committed head lands in the same file.

>>> import tempfile
>>> from api.settings import Settings
>>> engine = open_engine(Settings(data_dir=tempfile.mkdtemp()))
>>> from store.audit import seal_of
>>> seal_of(engine).heads.path.name
'audit-head.log'
"""

from __future__ import annotations

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from api.keys import key_exists, named_key
from api.settings import Settings
from store.audit import SCHEME_KEYED, AuditSeal
from store.audit_heads import HeadFile
from store.db import make_engine, reading


class AuditKeyLostError(Exception):
    """The database holds keyed audit entries but this host has no audit key: generating a
    new one would make the whole log look forged. The message is Chinese (for operators)."""


def audit_seal(settings: Settings) -> AuditSeal:
    """The seal from the settings: the ``audit`` key and the head file."""
    return AuditSeal(key=named_key(settings, "audit"), heads=HeadFile(settings.audit_head_path))


def open_engine(settings: Settings, *, url: str | None = None) -> Engine:
    """An engine for ``url`` (default: the settings' database) carrying the audit seal.
    Refuses (:class:`AuditKeyLostError`) to generate an audit key for a database whose log
    is already keyed."""
    database_url = url or settings.database_url
    if not key_exists(settings, "audit"):
        _refuse_if_keyed(database_url, settings)
    # a request holds at most two connections at a time (api.gates): never wait for one
    return make_engine(database_url, audit_seal=audit_seal(settings),
                       pool_size=settings.request_concurrency,
                       max_overflow=settings.request_concurrency)


def _refuse_if_keyed(url: str, settings: Settings) -> None:
    from store.schema import audit_log

    probe = make_engine(url)
    try:
        with reading(probe).connect() as conn:
            keyed = conn.execute(
                select(func.count()).select_from(audit_log)
                .where(audit_log.c.scheme == SCHEME_KEYED)
            ).scalar_one()
    except SQLAlchemyError:  # not migrated yet: nothing keyed
        keyed = 0
    finally:
        probe.dispose()
    if keyed:
        raise AuditKeyLostError(
            f"数据库中已有 {keyed} 条用审计密钥签名的记录，但本机没有审计密钥"
            f"（{settings.keys_path / 'audit.key'} 不存在，也未设置 MIANSHEN_AUDIT_KEY）。"
            "请从备份恢复该密钥文件，或设置 MIANSHEN_AUDIT_KEY 为原密钥；"
            "不会生成新密钥，否则整条审计链将无法校验。"
        )
