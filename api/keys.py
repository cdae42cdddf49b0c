"""Named keys: one secret per purpose, never a default.

:func:`named_key` returns the key called ``name``: the configured setting when there is one
for that name (``login`` -> ``MIANSHEN_SECRET_KEY``, ``links`` -> ``MIANSHEN_LINK_SECRET_KEY``,
``audit`` -> ``MIANSHEN_AUDIT_KEY``),
else the key file ``<keys_dir>/<name>.key``, generated on first use with 32 random bytes and
written once, mode 0600, in a directory of mode 0700. A key file that others may read is
refused (like ssh refuses a private key with loose permissions). Keys are separate per
purpose: login tokens (``login``), links in messages (``links``) and the audit chain
(``audit``) never share one.

>>> import tempfile
>>> from api.settings import Settings
>>> s = Settings(data_dir=tempfile.mkdtemp())
>>> first = named_key(s, "links")
>>> len(first) >= 32 and named_key(s, "links") == first and named_key(s, "login") != first
True
>>> oct((s.keys_path / "links.key").stat().st_mode & 0o777)
'0o600'
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from api.settings import Settings, check_secret

KEY_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
# The setting that, when set, replaces the key file of a name.
CONFIGURED: Final[dict[str, str]] = {
    "login": "secret_key", "links": "link_secret_key", "audit": "audit_key",
}


class KeyFileError(Exception):
    """A key file that cannot be used (unreadable, too open, too short). Its message is
    Chinese: it is shown to the operator as it is."""


def named_key(settings: Settings, name: str, *, create: bool = True) -> bytes:
    """The key ``name`` (see the module docstring); with ``create=False`` a missing key file
    raises :class:`FileNotFoundError` instead of being generated."""
    if not KEY_NAME.match(name):
        raise ValueError(f"key name must match {KEY_NAME.pattern}; got {name!r}")
    setting = CONFIGURED.get(name)
    configured = getattr(settings, setting) if setting else None
    if configured is not None:
        return str(configured.get_secret_value()).encode("utf-8")
    return key_file(settings.keys_path / f"{name}.key", create=create)


def key_exists(settings: Settings, name: str) -> bool:
    """Whether ``name`` is configured or already has its key file."""
    setting = CONFIGURED.get(name)
    if setting and getattr(settings, setting) is not None:
        return True
    return (settings.keys_path / f"{name}.key").exists()


def key_file(path: Path, *, create: bool = True) -> bytes:
    """The key kept in ``path``; generated there first when absent and ``create``. Two
    processes starting together get the same key (the file is created exclusively)."""
    try:
        return _read(path)
    except FileNotFoundError:
        if not create:
            raise
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process generated it first
        return _read(path)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(value + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return value.encode("ascii")


def _read(path: Path) -> bytes:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"密钥文件 {path} 的权限为 {oct(mode & 0o777)}，其他用户可以读取；"
            f"请执行 chmod 600 {path} 后重试"
        )
    text = path.read_text(encoding="ascii").strip()
    try:
        check_secret(text, setting=f"密钥文件 {path}")
    except ValueError as exc:
        raise KeyFileError(str(exc)) from None
    return text.encode("ascii")


@dataclass(frozen=True)
class ServiceKeys:
    """The keys the web service signs with, read (or generated) once at start."""

    login: bytes
    links: bytes

    @classmethod
    def of(cls, settings: Settings) -> ServiceKeys:
        return cls(login=named_key(settings, "login"), links=named_key(settings, "links"))

    @property
    def limits_pepper(self) -> bytes:
        """The key of the login-limit counters' hashed names, derived from the login key."""
        return hmac.new(self.login, b"mianshen login limits", hashlib.sha256).digest()

    def __repr__(self) -> str:  # never print a key
        return "ServiceKeys(login=<hidden>, links=<hidden>)"
