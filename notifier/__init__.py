"""mianshen: notifier."""
