"""The Chinese word for every enum value a page, an export or a CLI table shows: one table
per vocabulary, and :func:`zh` (also the ``zh`` filter of the page templates).

>>> zh("period", "month"), zh("version_status", "scheduled"), zh("application", "submitted")
('每月', '已批准待发布', '已提交')
>>> zh("period", None), zh("channel", "carrier-pigeon")
('', 'carrier-pigeon')
"""

from __future__ import annotations

from typing import Final

from api.services.benefits import DELIVERY_LABELS
from api.services.benefits import STATUS_LABELS as ENTITLEMENT_LABELS
from matcher.outcomes import OUTCOME_LABELS
from rules.model import ENTITY_LABELS

VERSION_STATUS_LABELS: Final[dict[str, str]] = {
    "draft": "草稿", "in_review": "审核中", "scheduled": "已批准待发布", "published": "已发布",
    "retired": "已废止",
}
PERIOD_LABELS: Final[dict[str, str]] = {"once": "一次性", "month": "每月", "year": "每年"}
APPLICATION_LABELS: Final[dict[str, str]] = {
    "draft": "草稿", "submitted": "已提交", "approved": "已批准", "rejected": "未通过",
    "withdrawn": "已撤回",
}
RUN_LABELS: Final[dict[str, str]] = {"running": "运行中", "succeeded": "成功", "failed": "失败"}
CHANNEL_LABELS: Final[dict[str, str]] = {
    "inbox": "站内信", "sms": "短信", "email": "电子邮件", "webhook": "系统推送(Webhook)",
}
MESSAGE_LABELS: Final[dict[str, str]] = {
    "queued": "排队中", "sending": "发送中", "sent": "已送达", "dead": "发送失败",
}
REVIEW_LABELS: Final[dict[str, str]] = {"approved": "通过", "rejected": "退回"}
ALLOCATION_LABELS: Final[dict[str, str]] = {"ordered": "按顺序分配", "pro_rata": "按比例分配"}
GROUP_LABELS: Final[dict[str, str]] = {"all": "全部满足", "any": "满足其一", "not": "不满足"}

VOCABULARIES: Final[dict[str, dict[str, str]]] = {
    "version_status": VERSION_STATUS_LABELS,
    "entitlement": ENTITLEMENT_LABELS,
    "outcome": OUTCOME_LABELS,
    "delivery": DELIVERY_LABELS,
    "period": PERIOD_LABELS,
    "application": APPLICATION_LABELS,
    "run": RUN_LABELS,
    "entity": ENTITY_LABELS,
    "channel": CHANNEL_LABELS,
    "message": MESSAGE_LABELS,
    "review": REVIEW_LABELS,
    "allocation": ALLOCATION_LABELS,
    "group": GROUP_LABELS,
}


def period_text(period: str | None) -> str:
    """A benefit period in words.

    >>> period_text("once"), period_text("2025"), period_text("2025-11")
    ('一次性', '2025年', '2025年11月')
    """
    if not period:
        return ""
    if period == "once":
        return "一次性"
    if len(period) == 4 and period.isdigit():
        return f"{period}年"
    if len(period) == 7 and period[4] == "-":
        return f"{period[:4]}年{int(period[5:])}月"
    return period


def zh(vocabulary: str, value: object) -> str:
    """The Chinese word for ``value`` in ``vocabulary``; the value itself when it has none,
    '' for None."""
    if value is None:
        return ""
    return VOCABULARIES[vocabulary].get(str(value), str(value))
