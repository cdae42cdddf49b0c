"""Forged login tokens on a default install (nothing configured): the old default key
`change-me` signs nothing that is accepted, in the old hand-written format or as a JWT, for
admin, officer or citizen; the key of message links does not sign logins; a token without a
signature (`alg: none`) or with a swapped algorithm is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from api.auth import TOKEN_AUDIENCE, TOKEN_ISSUER, issue_token

from .conftest import Service

USERS = {"admin": "admin", "officer": "officer", "resident": "citizen"}


def _old_format(subject: str, role: str, secret: str) -> str:
    """The hand-written ``<payload>.<HMAC-SHA256>`` token of earlier releases."""
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    body = json.dumps({"sub": subject, "role": role, "exp": time.time() + 3600},
                      separators=(",", ":"), sort_keys=True)
    payload = b64(body.encode())
    return f"{payload}.{b64(hmac.new(secret.encode(), payload.encode(), 'sha256').digest())}"


def _jwt(subject: str, role: str, key: bytes, *, algorithm: str = "HS256") -> str:
    claims = {"sub": subject, "role": role, "iat": int(time.time()),
              "exp": int(time.time()) + 3600, "jti": "forged", "iss": TOKEN_ISSUER,
              "aud": TOKEN_AUDIENCE}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT warns about the short default key
        return jwt.encode(claims, key, algorithm=algorithm)


def _alg_none(subject: str, role: str) -> str:
    def b64(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {"sub": subject, "role": role, "iat": int(time.time()),
              "exp": int(time.time()) + 3600, "jti": "x", "iss": TOKEN_ISSUER,
              "aud": TOKEN_AUDIENCE}
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."


@pytest.mark.parametrize("user", sorted(USERS))
def test_tokens_forged_with_the_old_default_key_are_refused(service: Service,
                                                            user: str) -> None:
    role = USERS[user]
    forged = [
        _old_format(user, role, "change-me"),
        _jwt(user, role, b"change-me"),
        _jwt(user, role, hashlib.sha256(b"change-me").digest()),
        _alg_none(user, role),
    ]
    with TestClient(service.app) as c:
        for token in forged:
            for path in ("/api/auth/me", "/api/runs", "/api/me/benefits"):
                r = c.get(path, headers={"Authorization": f"Bearer {token}"})
                assert r.status_code == 401, (token, path, r.text)
            c.cookies.set("mianshen_token", token)
            assert c.get("/api/auth/me").status_code == 401
            c.cookies.clear()
        # the real key works, so the refusals above are about the key
        assert c.get("/api/auth/me", headers=service.login(c, user)).status_code == 200


def test_the_link_key_does_not_sign_logins(service: Service) -> None:
    links = service.app.state.keys.links
    with TestClient(service.app) as c:
        token = issue_token("admin", role="admin", key=links, ttl_seconds=600)
        assert c.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}
                     ).status_code == 401


def test_a_default_install_generates_its_keys_once_and_keeps_them(service: Service) -> None:
    from api.app import create_app

    keys = service.settings.keys_path
    assert {p.name for p in keys.iterdir()} == {"audit.key", "login.key", "links.key"}
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in keys.iterdir())
    assert keys.stat().st_mode & 0o777 == 0o700
    with TestClient(service.app) as c:
        headers = service.login(c, "officer")
    restarted = create_app(service.settings, engine=service.engine)  # a restart: same key
    with TestClient(restarted) as c:
        assert c.get("/api/auth/me", headers=headers).status_code == 200


def test_a_readable_key_file_is_refused(service: Service) -> None:
    from api.app import create_app
    from api.keys import KeyFileError

    login_key = service.settings.keys_path / "login.key"
    login_key.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        create_app(service.settings, engine=service.engine)


@pytest.mark.parametrize("environment", ["development", "production"])
def test_serve_refuses_to_start_with_the_old_default_key(tmp_path: Path,
                                                        environment: str) -> None:
    env = {**os.environ, "MIANSHEN_SECRET_KEY": "change-me", "MIANSHEN_ENVIRONMENT": environment,
           "MIANSHEN_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-c", "from api.cli import main; main()", "serve",
                           "--port", "0"], env=env, capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "MIANSHEN_SECRET_KEY" in done.stderr and "默认值" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "data").exists()
