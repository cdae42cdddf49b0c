"""mianshen: matcher — batch evaluation, explanations, exclusivity and budgets, runs."""

__version__ = "0.1.0"
