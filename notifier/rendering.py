"""Rendering a planned message's payload with its Jinja2 template (one per message kind).

Each template has three blocks: ``subject``, ``text`` and ``html``; the SMS text (one
70-character segment with its link) is composed by :mod:`notifier.sms_text`.
Every rendered part is scanned for unmasked ID and phone numbers; a message that shows one is
refused with :class:`UnmaskedPersonalDataError` and never reaches a channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import jinja2

from notifier.errors import PayloadError, TemplateMissingError, UnmaskedPersonalDataError
from notifier.masking import find_unmasked
from notifier.model import MESSAGE_KINDS
from notifier.sms_text import compose_digest_sms, compose_sms
from store.money import KIND_RECEIPT

BLOCKS = ("subject", "text", "html")


@dataclass(frozen=True, kw_only=True)
class RenderedMessage:
    kind: str
    subject: str
    sms: str
    text: str
    html: str

    def parts(self) -> tuple[str, ...]:
        return (self.subject, self.sms, self.text, self.html)


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("notifier", "templates"),
        # Plain-text macros are not HTML-escaped; everything else is.
        autoescape=lambda name: not (name or "").startswith("_text"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.globals["receipt"] = KIND_RECEIPT  # how each kind of amount reaches its holder
    return env


def render_message(kind: str, payload: Mapping[str, object]) -> RenderedMessage:
    """Render the four parts of a message of ``kind`` from its payload, then scan them."""
    if kind not in MESSAGE_KINDS:
        raise TemplateMissingError(kind=kind, known=MESSAGE_KINDS)
    env = _environment()
    template = env.get_template(f"{kind}.j2")
    payload = upgrade_payload(payload)
    variables: dict[str, object] = {"inbox_url": None, **payload}
    variables["t"] = env.get_template("_text.j2").make_module()
    variables["h"] = env.get_template("_html.j2").make_module()
    items = payload.get("items")
    if isinstance(items, list | tuple) and items:
        variables["item"] = items[0]
    context = template.new_context(variables)
    parts: dict[str, str] = {}
    try:
        for block in BLOCKS:
            parts[block] = "".join(template.blocks[block](context)).strip()
    except (jinja2.TemplateError, TypeError, AttributeError, KeyError) as exc:
        # Jinja's messages name the missing part, never a value.
        raise PayloadError(kind=kind, problem=f"{type(exc).__name__}: {exc}") from None
    try:
        sms = _sms(kind, payload)
    except (TypeError, AttributeError, KeyError, ValueError) as exc:
        raise PayloadError(kind=kind, problem=f"{type(exc).__name__}: {exc}") from None
    rendered = RenderedMessage(kind=kind, sms=sms, **parts)
    findings: list[str] = []
    for part in rendered.parts():
        findings.extend(f for f in find_unmasked(part) if f not in findings)
    if findings:
        raise UnmaskedPersonalDataError(kind=kind, findings=tuple(findings))
    return rendered


ITEM_DEFAULTS: dict[str, object] = {
    "why": None, "link": None, "open_conditions": [], "reason": None, "decision": None,
    "amount_fen": None, "amount_period": None, "amount_display": "待核定",
}


def upgrade_payload(payload: Mapping[str, object]) -> dict[str, object]:
    """A payload in the current form: messages queued by an older version (version 1: a
    ``confirm_url`` / ``application_url`` instead of ``link``, no period label) still render."""
    out = dict(payload)
    items = payload.get("items")
    if isinstance(items, list | tuple):
        upgraded = []
        for raw in items:
            if not isinstance(raw, Mapping):
                upgraded.append(raw)
                continue
            item = {**ITEM_DEFAULTS, **raw}
            item["link"] = item.get("link") or raw.get("confirm_url") or raw.get(
                "application_url")
            if "period_label" not in raw:
                from notifier.planning import period_label

                item["period_label"] = period_label(str(raw.get("benefit_period") or ""))
            upgraded.append(item)
        out["items"] = upgraded
    return out


def _sms(kind: str, payload: Mapping[str, object]) -> str:
    items = payload.get("items")
    if not isinstance(items, list | tuple) or not items:
        raise PayloadError(kind=kind, problem="no items")
    if kind == "digest":
        return compose_digest_sms(len(items), str(payload.get("inbox_url") or ""))
    return compose_sms(items[0])


def render_application_html(application: Mapping[str, object]) -> str:
    """The HTML form of a pre-filled application (its ``to_json()`` form)."""
    module = _environment().get_template("_html.j2").make_module()
    html = str(module.application_form(application))  # type: ignore[attr-defined]
    findings = find_unmasked(html)
    if findings:
        raise UnmaskedPersonalDataError(kind="application", findings=findings)
    return html
