"""Mail senders: the .eml outbox of the local stack, and SES on moto."""

from __future__ import annotations

import logging
from email import policy
from email.parser import BytesParser
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from core.adapters.mail import OutboxMailer, SesMailer
from core.errors import UpstreamFailed, UpstreamUnavailable
from core.models import MailMessage
from tests.integration.conftest import REGION, Clients

SENDER = "Provider Accounts <no-reply@provider-accounts.local>"
SECRET = "Temporary password: Xq7-Secret-Value!"
MESSAGE = MailMessage(
    to="quillon.vantreska@example.com",
    subject="Your provider account",
    text=f"Hello Quillon,\n\n{SECRET}\n",
    html=f"<!DOCTYPE html><html><body><p>Hello Quillon,</p><p>{SECRET}</p></body></html>",
)


def test_outbox_writes_a_parseable_eml_with_both_parts(tmp_path: Path) -> None:
    # Given an outbox folder that does not exist yet
    outbox = tmp_path / "nested" / "outbox"

    # When a message is sent
    OutboxMailer(outbox, SENDER).send(MESSAGE)

    # Then exactly one complete .eml file, nothing half-written left behind
    files = sorted(outbox.iterdir())
    assert [f.suffix for f in files] == [".eml"]
    parsed = BytesParser(policy=policy.default).parsebytes(files[0].read_bytes())
    assert (parsed["From"], parsed["To"], parsed["Subject"]) == (
        SENDER,
        MESSAGE.to,
        MESSAGE.subject,
    )
    assert parsed["Date"]
    assert parsed["Message-ID"].endswith("@provider-accounts.local>")
    assert parsed.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in parsed.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert parsed.get_body(preferencelist=("plain",)).get_content() == MESSAGE.text
    assert parsed.get_body(preferencelist=("html",)).get_content().strip() == MESSAGE.html


def test_outbox_keeps_every_message_in_its_own_file(tmp_path: Path) -> None:
    mailer = OutboxMailer(tmp_path, SENDER)
    mailer.send(MESSAGE)
    mailer.send(MESSAGE)
    assert len(list(tmp_path.glob("*.eml"))) == 2


def test_outbox_logs_path_and_subject_but_never_the_body(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        OutboxMailer(tmp_path, SENDER).send(MESSAGE)

    path = next(tmp_path.glob("*.eml"))
    assert [r.getMessage() for r in caplog.records] == [
        f"mail written to outbox path={path} subject={MESSAGE.subject}"
    ]
    assert "Xq7-Secret-Value" not in caplog.text
    assert MESSAGE.to not in caplog.text


def test_ses_sends_from_a_verified_sender(moto: Clients) -> None:
    # Given the sender's address is verified
    moto.ses.verify_email_identity(EmailAddress="no-reply@provider-accounts.local")

    # When a message is sent
    SesMailer(moto.ses, SENDER).send(MESSAGE)

    # Then SES accepted it for the recipient (moto keeps only the HTML part of the two)
    sent = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    assert len(sent) == 1
    assert (sent[0].source, sent[0].destinations, sent[0].subject, sent[0].body) == (
        SENDER,
        {"ToAddresses": [MESSAGE.to]},
        MESSAGE.subject,
        MESSAGE.html,
    )
    assert moto.ses.get_send_quota()["SentLast24Hours"] == 1


def test_ses_sends_both_parts_in_utf8() -> None:
    client = boto3.client("ses", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_response(
            "send_email",
            {"MessageId": "m-1"},
            {
                "Source": SENDER,
                "Destination": {"ToAddresses": [MESSAGE.to]},
                "Message": {
                    "Subject": {"Data": MESSAGE.subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": MESSAGE.text, "Charset": "UTF-8"},
                        "Html": {"Data": MESSAGE.html, "Charset": "UTF-8"},
                    },
                },
            },
        )
        SesMailer(client, SENDER).send(MESSAGE)
        stub.assert_no_pending_responses()


def test_ses_rejecting_an_unverified_sender_is_upstream_failed(moto: Clients) -> None:
    with pytest.raises(UpstreamFailed):
        SesMailer(moto.ses, SENDER).send(MESSAGE)
    assert ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages == []


def test_ses_throttling_is_upstream_unavailable() -> None:
    client = boto3.client("ses", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_client_error("send_email", service_error_code="Throttling", http_status_code=400)
        with pytest.raises(UpstreamUnavailable):
            SesMailer(client, SENDER).send(MESSAGE)
