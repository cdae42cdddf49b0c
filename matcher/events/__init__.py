"""The real-time event engine: the published policies compiled to durable_rules, profiles
updated one entity at a time, decisions equal to the batch engine's (DESIGN §6).

- :mod:`matcher.events.compiler` - policy AST to TRUE / FALSE durable_rules rules
- :mod:`matcher.events.ruleset` - the only module that touches durable_rules
- :mod:`matcher.events.engine` - :class:`~matcher.events.engine.EventEngine`
- :mod:`matcher.events.replay` - partial-update events from JSON lines
- :mod:`matcher.events.triggers` - event-triggered policies (multi-event patterns)
- :mod:`matcher.events.delivery` - changes to entitlements and outbox in one transaction

The durable_rules traps and their workarounds are in ``matcher/events/README.md``.
"""
