"""Reading the one-time codes tests receive (mail.outbox / LocmemSmsBackend.outbox)."""

import re

from django.core import mail

from cabinets.messaging import LocmemSmsBackend


def last_email_code(to: str | None = None) -> str:
    for message in reversed(mail.outbox):
        if to is None or to.lower() in [r.lower() for r in message.to]:
            return re.search(r"\b(\d{6})\b", message.body).group(1)
    raise AssertionError(f"no e-mail code to {to}")


def last_sms_code(to: str | None = None) -> str:
    for message in reversed(LocmemSmsBackend.outbox):
        if to is None or message["to"] == to:
            return re.search(r"\b(\d{6})\b", message["text"]).group(1)
    raise AssertionError(f"no SMS code to {to}")
