"""Outgoing e-mail and SMS.

`send_sms(to=..., text=...)` is the one SMS entry point; the backend is chosen by
`settings.SMS_BACKEND` (a class with `send(to, text)`), so a real gateway plugs in by class.
"""

import logging

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class DevOutboxEmailBackend(BaseEmailBackend):
    """Development: every e-mail is kept for the dev outbox page instead of being sent."""

    def send_messages(self, email_messages):
        from .models import OutboundMessage

        for message in email_messages:
            html = ""
            for alternative, mimetype in getattr(message, "alternatives", []):
                if mimetype == "text/html":
                    html = alternative
            for recipient in message.recipients():
                OutboundMessage.objects.create(
                    channel=OutboundMessage.Channel.EMAIL,
                    recipient=recipient,
                    subject=message.subject,
                    body=message.body,
                    html_body=html,
                )
            logger.info("dev outbox: e-mail %r to %s", message.subject, ", ".join(message.recipients()))
        return len(email_messages)


class DevOutboxSmsBackend:
    def send(self, to: str, text: str) -> None:
        from .models import OutboundMessage

        OutboundMessage.objects.create(channel=OutboundMessage.Channel.SMS, recipient=to, body=text)
        logger.info("dev outbox: SMS to %s", to)


class LocmemSmsBackend:
    """Tests: messages collect in `LocmemSmsBackend.outbox`, like django.core.mail.outbox."""

    outbox: list[dict] = []

    def send(self, to: str, text: str) -> None:
        LocmemSmsBackend.outbox.append({"to": to, "text": text})


def send_sms(*, to: str, text: str) -> None:
    import_string(settings.SMS_BACKEND)().send(to, text)
