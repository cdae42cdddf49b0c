"""Channel implementations, side by side: memory (reference), inbox, webhook, smtp, sms."""
