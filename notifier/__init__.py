"""mianshen: notifier. Delivery planning, pre-filled applications, the outbox worker,
channels and templates.

Public entry points:

- ``notifier.planning.plan_messages`` / ``notifier.outbox.enqueue_changes``: entitlement
  changes -> messages, enqueued in the caller's transaction;
- ``notifier.worker.run_delivery_once``: one pass of the delivery loop (the scheduler runs it
  continuously; ``notifier.settings.run_configured_delivery_once`` builds the channels from
  the environment);
- ``notifier.abc.Channel`` and ``notifier.channels.*``: memory, inbox, webhook, smtp, sms.
"""

from notifier.model import EntitlementChange, FieldInfo, PlannedMessage, Recipient
from notifier.worker import DeliveryReport, RetryPolicy, run_delivery_once

__all__ = [
    "DeliveryReport",
    "EntitlementChange",
    "FieldInfo",
    "PlannedMessage",
    "Recipient",
    "RetryPolicy",
    "run_delivery_once",
]
