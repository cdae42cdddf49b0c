"""mianshen: bench."""
