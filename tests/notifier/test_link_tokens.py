"""Link tokens are signed without itsdangerous' per-call work, and must stay its tokens."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer

from notifier.links import PURPOSES, SALT, LinkInvalid, LinkSigner

SECRET = b"s" * 32


@settings(max_examples=200, deadline=None)
@given(lid=st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                   min_size=1, max_size=40),
       entitlement_id=st.integers(min_value=0, max_value=2**62),
       purpose=st.sampled_from(PURPOSES),
       now=st.integers(min_value=0, max_value=2**40))
def test_token_is_the_serializers_byte_for_byte(lid: str, entitlement_id: int, purpose: str,
                                                now: int) -> None:
    # repeated ids compress: both the plain and the compressed payload forms are covered
    signer = LinkSigner(secret=SECRET, ttl_seconds=3600)
    claims = {"l": lid, "e": entitlement_id, "p": purpose}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(time, "time", lambda: now + 0.75)
        ours = signer.sign(link_id=lid, entitlement_id=entitlement_id, purpose=purpose)  # type: ignore[arg-type]
        theirs = URLSafeTimedSerializer(SECRET, salt=SALT).dumps(claims)
    assert ours == theirs


def test_signed_token_verifies_and_tampering_is_caught() -> None:
    signer = LinkSigner(secret=SECRET, ttl_seconds=3600)
    token = signer.sign(link_id="a" * 30, entitlement_id=7, purpose="apply")
    assert token.startswith(".")  # this payload is compressed
    claims = signer.verify(token)
    assert (claims.link_id, claims.entitlement_id, claims.purpose) == ("a" * 30, 7, "apply")
    with pytest.raises(LinkInvalid):
        LinkSigner(secret=b"t" * 32, ttl_seconds=3600).verify(token)


def test_claims_that_would_need_escaping_are_refused() -> None:
    signer = LinkSigner(secret=SECRET, ttl_seconds=3600)
    with pytest.raises(ValueError):
        signer.sign(link_id='a"b', entitlement_id=1, purpose="view")
