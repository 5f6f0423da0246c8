"""E-mail through a real SMTP server on 127.0.0.1 (aiosmtpd): every kind in both languages,
sent once by its job even when the job is killed or the server is away, opt-outs and the
List-Unsubscribe link."""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from datetime import timedelta
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from django.db import transaction
from django.test import Client
from django.utils import timezone

from stylevault.core import config
from stylevault.jobs import services as jobs
from stylevault.jobs.models import Job, JobStatus
from stylevault.mail import services
from stylevault.mail.kinds import KINDS
from stylevault.mail.models import OutboxEmail, OutboxStatus
from tests.conftest import run_jobs
from tests.jobs.workers import WorkerPool, worker_env

pytestmark = pytest.mark.django_db

CONTEXT = {"credits": 100, "amount": "10,000 KRW", "checkout": "8d0c", "tier": "Pro",
           "period_end": "2027-01-02", "grace_until": "2026-12-05", "cause": "refund",
           "debt": 50, "style": "Ink wash", "approved": False, "reason": "too close",
           "month": "2026-11", "earned": 300, "closing": 120, "verify_token": "x"}  # fmt: skip
KOREAN_SUBJECT = {
    "receipt": "StyleVault 영수증",
    "refund": "결제가 환불되었거나 이의 제기되었습니다",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages: list[Message] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.original_content))
        return "250 OK"


@pytest.fixture
def smtp(settings):
    inbox = Inbox()

    def authenticate(server, session, envelope, mechanism, auth_data):
        inbox.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")

    port = _free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=authenticate,
        auth_require_tls=False,
    )  # fmt: skip
    controller.start()
    url = f"smtp://mailer%40payments:s3cret@127.0.0.1:{port}"
    for name, value in config.email_settings(url, Path("/nonexistent"), "SV <sv@test>").items():
        setattr(settings, name, value)
    yield inbox
    controller.stop()


def _body(message: Message, subtype: str) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == f"text/{subtype}")
    return part.get_payload(decode=True).decode()


def _queue(user, kind: str, key: str | None = None) -> OutboxEmail:
    with transaction.atomic():
        return services.queue(user_id=user.pk, kind=kind, key=key or f"t:{kind}", context=CONTEXT)


def test_email_url_becomes_django_settings():
    tls = config.email_settings("smtp+tls://a%40b:p%3Aw@mail.example:587", Path("/d"), "x")
    assert (tls["EMAIL_HOST"], tls["EMAIL_PORT"], tls["EMAIL_USE_TLS"]) == (
        "mail.example",
        587,
        True,
    )
    assert (tls["EMAIL_HOST_USER"], tls["EMAIL_HOST_PASSWORD"]) == ("a@b", "p:w")
    assert config.email_settings("smtps://h", Path("/d"), "x")["EMAIL_PORT"] == 465
    files = config.email_settings("", Path("/d"), "x")
    assert files["EMAIL_BACKEND"].endswith("filebased.EmailBackend")
    assert files["EMAIL_FILE_PATH"] == "/d/mail"
    with pytest.raises(config.ConfigError, match="STYLEVAULT_EMAIL_URL"):
        config.load({"STYLEVAULT_EMAIL_URL": "http://mail"})


@pytest.mark.parametrize("language", ["en", "ko"])
def test_every_kind_renders_in_the_recipients_language_and_arrives_once(make_user, smtp, language):
    user = make_user("reader")
    user.email, user.locale = "reader@example.test", language
    user.save()
    for kind in KINDS:
        _queue(user, kind)
        _queue(user, kind)  # the same cause again: still one e-mail
    assert run_jobs("mail", limit=100).count("succeeded") == len(KINDS)
    assert smtp.logins[0] == (b"mailer@payments", b"s3cret")
    arrived = {m["Subject"]: m for m in smtp.messages}
    assert len(smtp.messages) == len(KINDS) == len(arrived)
    for message in smtp.messages:
        subject = str(email.header.make_header(email.header.decode_header(message["Subject"])))
        assert message["Content-Language"] == language and message["To"] == user.email
        text, html = _body(message, "plain"), _body(message, "html")
        assert "reader" in text and "reader" in html and "<p>" in html and "{%" not in text
        kind = OutboxEmail.objects.get(message_id=message["Message-ID"]).kind
        if language == "ko" and kind in KOREAN_SUBJECT:
            assert subject == KOREAN_SUBJECT[kind]
        assert bool(message["List-Unsubscribe"]) == (not KINDS[kind].essential), kind
    receipt = OutboxEmail.objects.get(kind="receipt")
    assert f"/{language}/receipts/8d0c/" in _body(
        next(m for m in smtp.messages if m["Message-ID"] == receipt.message_id), "plain"
    )
    assert set(OutboxEmail.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}


def test_a_send_job_killed_and_retried_sends_once(make_user, smtp):
    user = make_user("reader")
    user.email = "reader@example.test"
    user.save()
    row = _queue(user, "receipt")
    job = Job.objects.get(kind=services.SEND_JOB)
    # The worker claims the job, sends the e-mail, and is killed before it records the job's
    # outcome: the lease runs out and the reaper puts the job back in the queue.
    claimed = jobs.claim(queues=["mail"], worker="doomed")
    assert claimed.pk == job.pk
    services.deliver(outbox_id=row.pk)
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(1))
    assert jobs.reap()["requeued"] == 1 or Job.objects.get(pk=job.pk).status == JobStatus.QUEUED
    Job.objects.filter(pk=job.pk).update(run_after=None)
    assert run_jobs("mail") == ["succeeded"]
    assert len(smtp.messages) == 1
    assert Job.objects.get(pk=job.pk).result == {"status": "sent"}


def test_a_job_killed_before_sending_sends_on_the_retry(make_user, smtp):
    user = make_user("reader")
    user.email = "reader@example.test"
    user.save()
    _queue(user, "payout_sent")
    job = jobs.claim(queues=["mail"], worker="doomed")  # killed at once
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(1))
    jobs.reap()
    Job.objects.filter(pk=job.pk).update(run_after=None)
    assert run_jobs("mail") == ["succeeded"]
    assert len(smtp.messages) == 1


def test_server_away_the_job_retries_and_the_email_arrives_once(make_user, smtp, settings):
    user = make_user("reader")
    user.email = "reader@example.test"
    user.save()
    good_port, settings.EMAIL_PORT = settings.EMAIL_PORT, _free_port()  # nobody listens
    row = _queue(user, "refund")
    run_jobs("mail")
    job = Job.objects.get(kind=services.SEND_JOB)
    assert job.status == JobStatus.QUEUED and job.attempts == 1  # retried later, with backoff
    assert OutboxEmail.objects.get(pk=row.pk).status == OutboxStatus.QUEUED
    settings.EMAIL_PORT = good_port
    Job.objects.filter(pk=job.pk).update(run_after=None)
    assert run_jobs("mail") == ["succeeded"]
    assert len(smtp.messages) == 1


def test_opt_out_of_an_optional_kind_through_the_unsubscribe_link(make_user, smtp):
    user = make_user("reader")
    user.email = "reader@example.test"
    user.save()
    _queue(user, "training_finished", key="one")
    run_jobs("mail")
    (message,) = smtp.messages
    link = message["List-Unsubscribe"].strip("<>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = link.split("//", 1)[1].split("/", 1)[1]
    answer = Client(enforce_csrf_checks=True).post(f"/{path}", {"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200 and 'data-test="unsubscribed"' in answer.content.decode()
    assert services.opted_out_kinds(user) == ["training_finished"]
    _queue(user, "training_finished", key="two")
    _queue(user, "receipt", key="three")  # essential: always sent
    run_jobs("mail")
    assert [m["Subject"] for m in smtp.messages[1:]] == ["Your StyleVault receipt"]
    assert OutboxEmail.objects.get(key="two").status == OutboxStatus.SKIPPED
    wrong = Client().post("/en/mail/unsubscribe/not-a-token/training_finished")
    assert wrong.status_code == 404


def test_without_an_email_url_messages_are_files(make_user, settings, tmp_path):
    for name, value in config.email_settings("", tmp_path, "SV <sv@test>").items():
        setattr(settings, name, value)
    user = make_user("reader")
    user.email = "reader@example.test"
    user.save()
    _queue(user, "receipt")
    run_jobs("mail")
    (written,) = list((tmp_path / "mail").iterdir())
    assert "Your StyleVault receipt" in written.read_text()


def test_sign_up_sends_a_verification_link_that_confirms_the_address(smtp):
    from allauth.account.models import EmailAddress

    from stylevault.accounts import services as accounts

    user = accounts.sign_up(
        username="newbie", password="correct horse battery 9", email="new@example.test",
        locale="ko",
    )  # fmt: skip
    run_jobs("mail")
    (message,) = smtp.messages
    text = _body(message, "plain")
    link = next(word for word in text.split() if "/mail/verify/" in word)
    assert "/ko/mail/verify/" in link
    path = "/" + link.split("//", 1)[1].split("/", 1)[1]
    assert Client().get(path).status_code == 200
    assert EmailAddress.objects.get(user=user, email="new@example.test").verified
    assert Client().get(path[:-3] + "xyz").status_code == 400


def test_an_address_confirmed_by_another_account_is_a_clear_error_not_a_500(smtp):
    from allauth.account.models import EmailAddress

    from stylevault.accounts import services as accounts

    links = []
    for name in ("first", "second"):
        accounts.sign_up(username=name, password="correct horse battery 9",
                         email="shared@example.test")  # fmt: skip
        run_jobs("mail")
        text = _body(smtp.messages[-1], "plain")
        link = next(word for word in text.split() if "/mail/verify/" in word)
        links.append("/" + link.split("//", 1)[1].split("/", 1)[1])
    assert Client().get(links[0]).status_code == 200
    answer = Client().get(links[1])
    assert answer.status_code == 400
    assert "another account" in answer.content.decode()
    (address,) = EmailAddress.objects.filter(email="shared@example.test", verified=True)
    assert address.user.username == "first"


class StallingInbox(Inbox):
    """Holds the first message's DATA without answering, until the test says so (its sender
    is killed meanwhile); that message is never accepted."""

    def __init__(self):
        super().__init__()
        self.first_seen = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if not self.first_seen.is_set():
            self.first_seen.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 try again later"
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_killed_while_sending_retries_and_delivers_once(
    make_user, tmp_path, settings
):
    inbox, port = StallingInbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    env = worker_env() | {"STYLEVAULT_EMAIL_URL": f"smtp://127.0.0.1:{port}"}
    pool = WorkerPool(args=["--queues", "mail"], env=env, log_dir=tmp_path / "logs")
    try:
        user = make_user("reader")
        user.email = "reader@example.test"
        user.save()
        row = _queue(user, "receipt")
        worker = pool.start()
        assert inbox.first_seen.wait(60), (tmp_path / "logs" / "worker-1.log").read_text()
        pool.kill(worker)  # SIGKILL in the middle of the SMTP conversation
        inbox.release.set()
        job = Job.objects.get(kind=services.SEND_JOB)
        assert job.status == JobStatus.RUNNING and inbox.messages == []
        # Time passes: the lease runs out, the reaper queues the job again.
        Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(1))
        jobs.reap()
        Job.objects.filter(pk=job.pk).update(run_after=None)
        for settings_name, value in config.email_settings(env["STYLEVAULT_EMAIL_URL"], tmp_path,
                                                          "SV <sv@test>").items():  # fmt: skip
            setattr(settings, settings_name, value)
        assert run_jobs("mail") == ["succeeded"]
        assert len(inbox.messages) == 1
        assert OutboxEmail.objects.get(pk=row.pk).attempts == 2
    finally:
        pool.stop()
        controller.stop()
