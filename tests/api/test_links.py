"""One-click links: signed, expiring, single-purpose, for one entitlement only; any link that
cannot be used gets a Chinese page that offers login instead."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.services.notify import link_config
from notifier.links import LinkInvalid, LinkSigner, StoredLinks
from store import entitlements as entitlement_store
from store.db import transaction
from store.schema import links
from store.types import utcnow
from tests.api.conftest import Env

HTML = {"Accept": "text/html"}


def _issue(env: Env, entitlement_id: int, purpose: str, key: str) -> str:
    cfg = link_config(env.settings)
    with transaction(env.engine) as s:
        issuer = StoredLinks(session=s, base_url="http://testserver", signer=cfg.signer,
                             now=utcnow())
        url = issuer.url(entitlement_id=entitlement_id, purpose=purpose,  # type: ignore[arg-type]
                         key=key)
        issuer.flush()
    return url.removeprefix("http://testserver")


def _benefit(env: Env, role: str, **where: str) -> int:
    with transaction(env.engine) as s:
        for eid in env.entitlement_ids(role):
            e = entitlement_store.get(s, eid)
            if all(getattr(e, k) == v for k, v in where.items()):
                return eid
    pytest.skip(f"the demo {role} has no benefit with {where}")


def test_a_view_link_shows_its_benefit_and_nothing_else(env: Env, client: TestClient) -> None:
    mine = _benefit(env, "enterprise")
    path = _issue(env, mine, "view", "k-view")
    page = client.get(path, headers=HTML)
    assert page.status_code == 200 and 'id="link-benefit"' in page.text
    assert f'data-entitlement="{mine}"' in page.text
    assert "一键确认" not in page.text  # a view link confirms nothing
    # the link opens no session: the account's pages still ask for a login
    assert client.get("/me", headers=HTML, follow_redirects=False).status_code == 303
    assert client.get("/api/me/benefits").status_code == 401


def test_a_link_for_another_purpose_does_nothing(env: Env, client: TestClient) -> None:
    mine = _benefit(env, "enterprise")
    with transaction(env.engine) as s:
        before = entitlement_store.get(s, mine).status
    path = _issue(env, mine, "view", "k-purpose")
    refused = client.post(f"{path}/confirm", headers=HTML)
    assert refused.status_code == 400 and "链接已被改动" in refused.text
    with transaction(env.engine) as s:
        assert entitlement_store.get(s, mine).status == before


@pytest.mark.parametrize(("damage", "status", "title"), [
    ("tamper", 400, "链接已被改动"),
    ("expire", 410, "链接已过期"),
    ("unknown", 404, "链接无效"),
])
def test_a_link_that_cannot_be_used_says_why_in_chinese_and_offers_login(
    env: Env, client: TestClient, damage: str, status: int, title: str,
) -> None:
    mine = _benefit(env, "enterprise")
    path = _issue(env, mine, "view", f"k-{damage}")
    lid = path.rsplit("/", 1)[1]
    with transaction(env.engine) as s:
        if damage == "tamper":  # another entitlement's id slipped into the stored token
            record = s.execute(links.select().where(links.c.id == lid)).one()
            forged = record.token.replace(".", "x.", 1)
            s.execute(update(links).where(links.c.id == lid).values(token=forged))
        if damage == "expire":
            s.execute(update(links).where(links.c.id == lid)
                      .values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    if damage == "unknown":
        path = path[:-3] + "zzz"
    page = client.get(path, headers=HTML)
    assert page.status_code == status
    assert title in page.text and 'id="login-instead"' in page.text


def test_tokens_are_signed_with_the_link_key_and_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = LinkSigner(secret=b"a-link-key-of-enough-length", ttl_seconds=60)
    token = signer.sign(link_id="abc", entitlement_id=5, purpose="confirm")
    assert signer.verify(token).entitlement_id == 5
    other = LinkSigner(secret=b"the-login-key-is-another-one", ttl_seconds=60)
    with pytest.raises(LinkInvalid) as caught:
        other.verify(token)
    assert caught.value.why == "tampered"
    import itsdangerous.timed

    later = itsdangerous.timed.time.time() + 120
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: later)
    with pytest.raises(LinkInvalid) as caught:
        signer.verify(token)
    assert caught.value.why == "expired"


def test_the_link_key_is_generated_once_and_differs_from_the_login_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from api.settings import Settings

    login = "login-key-" + "x" * 32
    settings = Settings(data_dir=tmp_path, environment="test", secret_key=login)
    first = settings.link_key()
    assert first == settings.link_key() and len(first) >= 32
    assert first != login.encode()
    assert (tmp_path / "keys" / "links.key").stat().st_mode & 0o077 == 0
    with pytest.raises(ValueError):
        Settings(data_dir=tmp_path, environment="test", secret_key="same-key-" + "y" * 32,
                 link_secret_key="same-key-" + "y" * 32).link_key()
