"""mianshen: store."""
