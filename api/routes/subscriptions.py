"""我的订阅: how a recipient wants to be told (channels, kinds of policy, quiet hours, an
e-mail or phone of its own) and the webhooks it (or an integrator with its API key)
registered — URL and HMAC secret."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import EntityUser, SessionDep
from api.models.benefits import PreferencesPublic, WebhookCreate, WebhookPublic
from api.services.errors import ApiError, Conflict, NotFound
from notifier.channels.http import check_url
from notifier.channels.registry import names
from notifier.channels.webhook import WebhookSettings
from notifier.errors import ConfigurationError
from store import recipients
from store.recipients import Preferences, WebhookSubscription

router = APIRouter(prefix="/api/me", tags=["subscriptions"])
DELIVERIES = ("direct", "notice", "apply")


def preferences_public(p: Preferences) -> PreferencesPublic:
    return PreferencesPublic(channels=list(p.channels) if p.channels is not None else None,
                             muted_deliveries=list(p.muted_deliveries),
                             quiet_start=p.quiet_start, quiet_end=p.quiet_end, email=p.email,
                             phone=p.phone)


def webhook_public(w: WebhookSubscription) -> WebhookPublic:
    return WebhookPublic(id=w.id, url=w.url, label=w.label, secret_hint=w.secret[-4:],
                         created_at=w.created_at)


@router.get("/subscriptions", response_model=PreferencesPublic)
def get_preferences(session: SessionDep, user: EntityUser) -> PreferencesPublic:
    """我的订阅：接收渠道、不接收的政策类别、免打扰时段。"""
    assert user.entity_kind and user.entity_id
    return preferences_public(recipients.get_preferences(session, user.entity_kind,
                                                         user.entity_id))


@router.put("/subscriptions", response_model=PreferencesPublic)
def save_preferences(body: PreferencesPublic, session: SessionDep,
                     user: EntityUser) -> PreferencesPublic:
    """保存订阅设置（下一次运行起生效；撤销和审批结果总会通知）。"""
    assert user.entity_kind and user.entity_id
    known = set(names())
    wrong = sorted(set(body.channels or ()) - known)
    if wrong:
        raise Conflict(f"没有这些渠道：{'、'.join(wrong)}；可选：{'、'.join(sorted(known))}")
    bad = sorted(set(body.muted_deliveries) - set(DELIVERIES))
    if bad:
        raise Conflict(f"没有这些政策类别：{'、'.join(bad)}")
    if (body.quiet_start is None) != (body.quiet_end is None) or (
            body.quiet_start is not None and body.quiet_start == body.quiet_end):
        raise Conflict("免打扰时段须同时填写开始和结束时间，且两者不同")
    saved = recipients.save_preferences(session, Preferences(
        entity_kind=user.entity_kind, entity_id=user.entity_id,
        channels=tuple(body.channels) if body.channels is not None else None,
        muted_deliveries=tuple(body.muted_deliveries), quiet_start=body.quiet_start,
        quiet_end=body.quiet_end, email=body.email, phone=body.phone), actor=user.user_id)
    return preferences_public(saved)


@router.get("/webhooks", response_model=list[WebhookPublic])
def list_webhooks(session: SessionDep, user: EntityUser) -> list[WebhookPublic]:
    assert user.entity_kind and user.entity_id
    found = recipients.webhooks_of(session, [(user.entity_kind, user.entity_id)])
    return [webhook_public(w) for w in found.get((user.entity_kind, user.entity_id), [])]


@router.post("/webhooks", response_model=WebhookPublic, status_code=201)
def add_webhook(body: WebhookCreate, session: SessionDep, user: EntityUser) -> WebhookPublic:
    """登记 Webhook：之后的通知以 HMAC-SHA256（X-Mianshen-Signature）签名推送到该地址。

    Checked now by the same rule the delivery applies (HTTPS, or plain HTTP only where the
    platform allows a local receiver), so an address that could never be delivered to is
    refused at registration instead of failing every message later.
    """
    assert user.entity_kind and user.entity_id
    try:
        check_url(body.url, parameter="url", allow_http=WebhookSettings().webhook_allow_http)
    except ConfigurationError:
        raise ApiError(f"Webhook 地址须以 https:// 开头，收到的是：{body.url}",
                       extra={"field": "url", "expected": "https://…"}) from None
    sub = recipients.add_webhook(session, entity_kind=user.entity_kind,
                                 entity_id=user.entity_id, url=body.url, secret=body.secret,
                                 label=body.label, actor=user.user_id)
    return webhook_public(sub)


@router.delete("/webhooks/{subscription_id}", status_code=204)
def remove_webhook(subscription_id: int, session: SessionDep, user: EntityUser) -> None:
    try:
        sub = recipients.get_webhook(session, subscription_id)
    except LookupError:
        raise NotFound("没有这个 Webhook") from None
    if (sub.entity_kind, sub.entity_id) != (user.entity_kind, user.entity_id):
        raise NotFound("没有这个 Webhook")
    recipients.revoke_webhook(session, subscription_id, actor=user.user_id)
