"""Writes of e-mail: ``queue`` records an e-mail in the caller's transaction (with the job
that sends it, woken after the commit); ``deliver`` renders it in the recipient's language
and sends it once (the outbox row says whether it went); opt-outs of the optional kinds."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from stylevault.core import errors
from stylevault.jobs import services as jobs
from stylevault.mail.kinds import KINDS
from stylevault.mail.models import MailPreference, OutboxEmail, OutboxStatus

log = logging.getLogger(__name__)

SEND_JOB = "mail.send"
VERIFY_SALT = "stylevault.mail.verify"
VERIFY_MAX_AGE = timedelta(days=7)


def queue(*, user_id: int, kind: str, key: str, context: dict | None = None) -> OutboxEmail:
    """Records the e-mail of ``key``'s cause once (a second call with the key returns the
    first row) and queues its sending; joins the caller's transaction."""
    if kind not in KINDS:
        raise ValueError(f"unknown e-mail kind {kind!r}")
    with transaction.atomic():
        row, created = OutboxEmail.objects.get_or_create(
            key=key[:255], defaults={"user_id": user_id, "kind": kind, "context": context or {}}
        )
        if created:
            jobs.enqueue(kind=SEND_JOB, payload={"outbox_id": row.pk})
        return row


def _message_id(row: OutboxEmail) -> str:
    """Stable per row: a copy sent again after a crash is the same message to mail clients."""
    digest = hashlib.sha256(row.key.encode()).hexdigest()[:32]
    return f"<{digest}.{row.pk}@stylevault>"


def _links(row: OutboxEmail, preference: MailPreference | None, language: str) -> dict:
    base = settings.STYLEVAULT_PUBLIC_URL.rstrip("/")
    links = {"site": f"{base}/{language}/"}
    if preference is not None:
        links["unsubscribe"] = f"{base}/{language}/mail/unsubscribe/{preference.token}/{row.kind}"
    if row.context.get("verify_token"):
        links["verify"] = f"{base}/{language}/mail/verify/{row.context['verify_token']}"
    if row.context.get("checkout"):
        links["receipt"] = f"{base}/{language}/receipts/{row.context['checkout']}/"
    return links


def render(row: OutboxEmail) -> EmailMultiAlternatives:
    """The e-mail of an outbox row, in its recipient's language (text and HTML)."""
    kind, user = KINDS[row.kind], row.user
    language = user.locale if user.locale in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    preference = None
    if not kind.essential:
        preference, _created = MailPreference.objects.get_or_create(user=user)
    with translation.override(language):
        links = _links(row, preference, language)
        context = {**row.context, "user": user, "links": links, "kind": row.kind}
        subject = str(kind.subject)
        text = render_to_string(f"mail/{row.kind}.txt", context)
        html = render_to_string(f"mail/{row.kind}.html", context)
    headers = {"Message-ID": _message_id(row), "Content-Language": language}
    if "unsubscribe" in links:
        headers["List-Unsubscribe"] = f"<{links['unsubscribe']}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message = EmailMultiAlternatives(
        subject=subject, body=text, to=[user.email], headers=headers,
        from_email=settings.DEFAULT_FROM_EMAIL,
    )  # fmt: skip
    message.attach_alternative(html, "text/html")
    return message


def _finish(row_id: int, status: str, **fields) -> bool:
    """Records the outcome unless another attempt already did."""
    return bool(
        OutboxEmail.objects.filter(pk=row_id, status=OutboxStatus.QUEUED).update(
            status=status, **fields
        )
    )


def deliver(*, outbox_id: int) -> str:
    """Sends a queued e-mail through the configured backend; a row already sent or skipped
    is left alone, so a job retried after a crash sends nothing twice. SMTP errors raise (the
    job retries with backoff)."""
    with transaction.atomic():
        row = OutboxEmail.objects.select_related("user").filter(pk=outbox_id).first()
        if row is None or row.status != OutboxStatus.QUEUED:
            return row.status if row else "missing"
        OutboxEmail.objects.filter(pk=row.pk).update(attempts=row.attempts + 1)
    kind, user = KINDS[row.kind], row.user
    if not user.email or (not kind.essential and row.kind in opted_out_kinds(user)):
        _finish(row.pk, OutboxStatus.SKIPPED)
        return OutboxStatus.SKIPPED
    message = render(row)
    message.send()
    message_id = message.extra_headers["Message-ID"]
    _finish(row.pk, OutboxStatus.SENT, sent_at=timezone.now(), message_id=message_id)
    return OutboxStatus.SENT


def opted_out_kinds(user) -> list[str]:
    preference = MailPreference.objects.filter(user=user).first()
    return list(preference.opted_out) if preference else []


@transaction.atomic(durable=True)
def unsubscribe(*, token: str, kind: str) -> MailPreference:
    """The List-Unsubscribe link (one click, no sign-in): turns one optional kind off."""
    preference = MailPreference.objects.select_for_update().filter(token=str(token)).first()
    if preference is None:
        raise errors.NotFound(_("This unsubscribe link is not valid."))
    if kind not in KINDS or KINDS[kind].essential:
        raise errors.ValidationFailed(_("This kind of e-mail cannot be turned off."))
    if kind not in preference.opted_out:
        preference.opted_out = sorted({*preference.opted_out, kind})
        preference.save(update_fields=["opted_out"])
    return preference


@transaction.atomic(durable=True)
def set_opted_out(*, user, kinds: list[str]) -> MailPreference:
    """The user's own choice of optional kinds to receive none of."""
    wrong = [k for k in kinds if k not in KINDS or KINDS[k].essential]
    if wrong:
        message = _("These e-mails cannot be turned off: %(kinds)s") % {"kinds": ", ".join(wrong)}
        raise errors.ValidationFailed(message, details={"fields": {"kinds": [message]}})
    preference, _created = MailPreference.objects.get_or_create(user=user)
    preference.opted_out = sorted(set(kinds))
    preference.save(update_fields=["opted_out"])
    return preference


def queue_verification(*, user) -> OutboxEmail | None:
    """The sign-up e-mail whose link confirms the address (a signed token, 7 days)."""
    if not user.email:
        return None
    token = signing.dumps({"u": user.pk, "e": user.email}, salt=VERIFY_SALT)
    return queue(
        user_id=user.pk,
        kind="verify_email",
        key=f"verify:{user.pk}:{user.email}",
        context={"verify_token": token},
    )


@transaction.atomic(durable=True)
def verify_email(*, token: str):
    """The link of the verification e-mail: the address is marked verified (allauth's record)."""
    invalid = errors.ValidationFailed(_("This confirmation link is not valid or has expired."))
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=VERIFY_MAX_AGE)
    except signing.BadSignature:
        raise invalid from None
    user = get_user_model().objects.filter(pk=data.get("u"), email=data.get("e")).first()
    if user is None or not user.email:
        raise invalid
    try:
        with transaction.atomic():
            EmailAddress.objects.filter(user=user).exclude(email=user.email).update(primary=False)
            EmailAddress.objects.update_or_create(
                user=user, email=user.email, defaults={"verified": True, "primary": True}
            )
    except IntegrityError:  # allauth keeps a verified address to one account
        raise errors.Conflict(
            _("This e-mail address is already confirmed for another account.")
        ) from None
    return user
