"""Email over SMTP. SMTP has no idempotency key: delivery is at least once. Every copy of a
message carries the same ``Message-ID`` (derived from the idempotency key), so a mail client
folds a duplicate caused by a crash between sending and marking."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate
from typing import ClassVar

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from notifier.abc import Channel, OutboundMessage, Receipt
from notifier.channels.registry import ChannelSpec
from notifier.errors import ConfigurationError, PermanentChannelError, TransientChannelError


def message_id(idempotency_key: str, *, domain: str) -> str:
    """The Message-ID of every copy of one message.

    >>> message_id("i-abc-email", domain="mianshen.example.cn")
    '<i-abc-email@mianshen.example.cn>'
    """
    return f"<{idempotency_key}@{domain}>"


class SmtpChannel(Channel):
    name: ClassVar[str] = "email"
    idempotent: bool = False

    def __init__(
        self,
        *,
        host: str,
        port: int = 25,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout_s: float = 10.0,
    ) -> None:
        if "@" not in sender:
            raise ConfigurationError(parameter="sender", expected="an email address", got=sender)
        self.host = host
        self.port = port
        self.sender = sender
        self.domain = sender.rsplit("@", 1)[1]
        self._username = username
        self._password = password
        self._starttls = starttls
        self._timeout_s = timeout_s

    def build(self, message: OutboundMessage) -> EmailMessage:
        if not message.address or "@" not in message.address:
            raise PermanentChannelError(channel=self.name, reason="no valid email address")
        mail = EmailMessage()
        mail["Subject"] = message.rendered.subject
        mail["From"] = self.sender
        mail["To"] = message.address
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = message_id(message.idempotency_key, domain=self.domain)
        mail.set_content(message.rendered.text)
        mail.add_alternative(message.rendered.html, subtype="html")
        return mail

    def send(self, message: OutboundMessage) -> Receipt:
        mail = self.build(message)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self._timeout_s) as smtp:
                if self._starttls:
                    smtp.starttls()
                if self._username and self._password:
                    smtp.login(self._username, self._password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused:
            raise PermanentChannelError(channel=self.name, reason="recipient refused") from None
        except smtplib.SMTPResponseException as exc:
            reason = f"SMTP {exc.smtp_code}"
            if 400 <= exc.smtp_code < 500:
                raise TransientChannelError(channel=self.name, reason=reason) from None
            raise PermanentChannelError(channel=self.name, reason=reason) from None
        except (smtplib.SMTPException, OSError) as exc:  # timeouts are OSError
            raise TransientChannelError(
                channel=self.name, reason=f"connection failed ({type(exc).__name__})"
            ) from None
        return Receipt(provider_id=str(mail["Message-ID"]))


class SmtpSettings(BaseSettings):
    """``MIANSHEN_SMTP_*``: the mail relay; without a host and a sender, no e-mail."""

    model_config = SettingsConfigDict(env_prefix="MIANSHEN_", extra="ignore")

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str | None = None
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False


def from_environment(_sessions: object = None) -> SmtpChannel | None:
    s = SmtpSettings()
    if not (s.smtp_host and s.smtp_sender):
        return None
    return SmtpChannel(
        host=s.smtp_host, port=s.smtp_port, sender=s.smtp_sender, username=s.smtp_username,
        password=s.smtp_password.get_secret_value() if s.smtp_password else None,
        starttls=s.smtp_starttls,
    )


SPEC = ChannelSpec(name="email", label="电子邮件", address_kind="email", per_item=False,
                   build=from_environment)
