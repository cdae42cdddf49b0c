"""mianshen: profiles."""
