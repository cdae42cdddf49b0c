"""mianshen: rules."""
