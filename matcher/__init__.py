"""mianshen: matcher."""
