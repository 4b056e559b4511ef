"""Mail senders: Amazon SES in AWS, an .eml outbox folder on the local stack."""

from __future__ import annotations

import logging
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from core.adapters.aws_errors import aws_call
from core.clock import utc_now
from core.models import MailMessage

log = logging.getLogger(__name__)


class SesMailer:
    """Sends through SES with both a text and an HTML part."""

    def __init__(self, client: Any, sender: str, configuration_set: str | None = None) -> None:
        self._client = client
        self._sender = sender
        # Sending through the configuration set publishes bounces and complaints.
        self._routing = {"ConfigurationSetName": configuration_set} if configuration_set else {}

    def send(self, message: MailMessage) -> None:
        """Send one message."""
        with aws_call("ses", "SendEmail"):
            self._client.send_email(
                **self._routing,
                Source=self._sender,
                Destination={"ToAddresses": [message.to]},
                Message={
                    "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": message.text, "Charset": "UTF-8"},
                        "Html": {"Data": message.html, "Charset": "UTF-8"},
                    },
                },
            )


class OutboxMailer:
    """Writes each message as an .eml file; logs its path and subject, never its body."""

    def __init__(self, directory: Path, sender: str) -> None:
        self._directory = directory
        self._sender = sender

    def send(self, message: MailMessage) -> None:
        """Write one message to the outbox folder."""
        email = EmailMessage()
        email["From"] = self._sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = make_msgid(domain="provider-accounts.local")
        email.set_content(message.text)
        email.add_alternative(message.html, subtype="html")
        self._directory.mkdir(parents=True, exist_ok=True)
        stamp = utc_now().strftime("%Y%m%dT%H%M%S%fZ")
        path = self._directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        partial = path.with_suffix(".tmp")
        partial.write_bytes(bytes(email))
        partial.replace(path)  # readers never see half a message
        log.info("mail written to outbox path=%s subject=%s", path, message.subject)
