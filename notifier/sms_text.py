"""SMS texts: one 70-character segment (a Chinese SMS with more is split and billed twice, and
the link at its end is what matters), the signature and the short link included.

The wording is fixed per kind of message; only the policy title shrinks (with …) when the text
would not fit, then the amount is left out; the link is never cut.

>>> item = {"kind": "benefit_direct", "policy_title": "上海市老年综合津贴", "benefit_period":
...         "2025-11", "amount_fen": 7500, "amount_period": "month",
...         "link": "https://ms.example.cn/l/2juzYdYJuhi"}
>>> text = compose_sms(item)
>>> text
'【免申即享】上海市老年综合津贴11月可享75元/月，一键确认：https://ms.example.cn/l/2juzYdYJuhi'
>>> len(text) <= SMS_SEGMENT
True
"""

from __future__ import annotations

from collections.abc import Mapping

from store.money import KIND_SHORT_WORDS, fen_to_yuan

SMS_SEGMENT = 70
SIGNATURE = "【免申即享】"
_SHORT_PERIOD = {"once": "(一次性)", "month": "/月", "year": "/年"}


def period_short(period: str) -> str:
    """``2025-11`` -> ``11月``, ``2025`` -> ``2025年``, ``once`` -> ``""``.

    >>> period_short("2025-11"), period_short("2025"), period_short("once")
    ('11月', '2025年', '')
    """
    if len(period) == 7 and period[4] == "-":
        return f"{int(period[5:])}月"
    if len(period) == 4 and period.isdigit():
        return f"{period}年"
    return ""


def amount_short(fen: int | None, period: str | None) -> str:
    """``75元/月``: whole yuan without decimals; unknown amounts are left out ("")."""
    yuan = fen_to_yuan(fen)
    if yuan is None:
        return ""
    text = f"{yuan:,.2f}".removesuffix(".00")
    return f"{text}元" + ("" if period == "once" else _SHORT_PERIOD.get(period or "", ""))


def _sentence(item: Mapping[str, object], title: str, *, with_amount: bool) -> str:
    kind = item.get("kind")
    when = period_short(str(item.get("benefit_period") or ""))
    amount = amount_short(item.get("amount_fen"), item.get("amount_period"))  # type: ignore[arg-type]
    amount = amount if with_amount else ""
    money = str(item.get("amount_kind") or "cash")
    cash = money == "cash"
    if amount:  # a deduction is never worded as money received (可扣除, not 可享)
        amount = KIND_SHORT_WORDS.get(money, "{}").format(amount)
    link = str(item.get("link") or "")
    head = f"{SIGNATURE}{title}{when}"
    if kind == "benefit_direct":
        if not amount:
            return f"{head}待确认，点击：{link}"
        return f"{head}{'可享' if cash else ''}{amount}，一键确认：{link}"
    if kind == "benefit_notice":
        if money == "deduction":
            return f"{head}{amount}，无需申请，详情：{link}"
        return f"{head}已为您自动享受{amount}，详情：{link}"
    if kind == "application":
        missing = item.get("to_fill_count")
        ask = f"只需补{missing}项" if missing else "请核对提交"
        return f"{head}已预填申请表，{ask}：{link}"
    if kind == "revocation":
        return f"{head}资格已取消，原因见：{link}"
    if kind == "amount_changed":
        return f"{head}金额调整为{amount}，详情：{link}" if amount else f"{head}金额有调整：{link}"
    if kind == "renewal":
        return f"{head}{amount}已按您的确认继续{'发放' if cash else '享受'}：{link}"
    if kind == "application_decision":
        if item.get("decision") == "approved":
            return f"{head}申请已通过{('，' + amount) if amount else ''}：{link}"
        return f"{head}申请未通过，原因见：{link}"
    return f"{head}有新的政策消息：{link}"


def compose_sms(item: Mapping[str, object], *, limit: int = SMS_SEGMENT) -> str:
    """The SMS for one message item, at most ``limit`` characters when at all possible (the
    title shrinks to 4 characters, then the amount goes); the caller refuses a longer one."""
    title = str(item.get("policy_title") or "")
    for with_amount in (True, False):
        text = _sentence(item, title, with_amount=with_amount)
        over = len(text) - limit
        if over <= 0:
            return text
        keep = len(title) - over - 1
        if keep >= 4:
            return _sentence(item, title[:keep] + "…", with_amount=with_amount)
    return _sentence(item, title[:4] + "…", with_amount=False)


def compose_digest_sms(count: int, link: str) -> str:
    """A short pointer to the inbox, for a digest (SMS itself carries one change a message).

    >>> compose_digest_sms(3, "https://ms.example.cn/me")
    '【免申即享】您有3项政策消息，请查看：https://ms.example.cn/me'
    """
    return f"{SIGNATURE}您有{count}项政策消息，请查看：{link}"
