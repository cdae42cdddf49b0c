"""mianshen: api."""
