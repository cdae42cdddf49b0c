"""Errors of the notifier. One root, subclasses that carry what went wrong as fields."""

from __future__ import annotations


class NotifierError(Exception):
    """Root error of the notifier package."""


class PlanningError(NotifierError):
    """An entitlement change that cannot be turned into a message."""

    def __init__(self, *, key: str, expected: str, got: object) -> None:
        self.key = key
        self.expected = expected
        self.got = got
        super().__init__(f"entitlement change {key}: expected {expected}, got {got!r}")


class TemplateMissingError(NotifierError):
    """No template for a message kind."""

    def __init__(self, *, kind: str, known: tuple[str, ...]) -> None:
        self.kind = kind
        self.known = known
        super().__init__(
            f"no template for message kind {kind!r}; expected one of {', '.join(known)}"
        )


class PayloadError(NotifierError):
    """A message payload its template cannot render (a missing or malformed part)."""

    def __init__(self, *, kind: str, problem: str) -> None:
        self.kind = kind
        self.problem = problem
        super().__init__(
            f"{kind!r} message payload cannot be rendered: {problem}; expected the payload "
            "written by notifier.planning"
        )


class UnmaskedPersonalDataError(NotifierError):
    """A rendered message still shows a full ID number or phone number; it is never sent."""

    def __init__(self, *, kind: str, findings: tuple[str, ...]) -> None:
        self.kind = kind
        self.findings = findings  # kinds of data found ("id_number", "phone"), never the values
        super().__init__(
            f"rendered {kind!r} message shows unmasked personal data ({', '.join(findings)}); "
            "expected every ID and phone masked"
        )


class ChannelError(NotifierError):
    """A channel could not deliver a message.

    ``retryable`` says whether trying again later may succeed (timeouts, 5xx, connection
    refused) or not (4xx, a refused address): the worker backs off on the first kind and sends
    the message to the dead letters on the second.
    """

    def __init__(self, *, channel: str, reason: str, retryable: bool) -> None:
        self.channel = channel
        self.reason = reason
        self.retryable = retryable
        super().__init__(f"channel {channel}: {reason}")


class TransientChannelError(ChannelError):
    def __init__(self, *, channel: str, reason: str) -> None:
        super().__init__(channel=channel, reason=reason, retryable=True)


class PermanentChannelError(ChannelError):
    def __init__(self, *, channel: str, reason: str) -> None:
        super().__init__(channel=channel, reason=reason, retryable=False)


class ConfigurationError(NotifierError):
    """A channel or delivery rule configured with a value it cannot use."""

    def __init__(self, *, parameter: str, expected: str, got: object) -> None:
        self.parameter = parameter
        self.expected = expected
        self.got = got
        super().__init__(f"the {parameter!r} parameter must be {expected}; got {got!r} instead")
