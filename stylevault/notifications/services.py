"""Writes of notifications. `notify` is the one entry point other apps call, inside the
transaction of the act that causes the notification (a like, a finished training, ...)."""

from __future__ import annotations

from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from stylevault.accounts.models import User
from stylevault.core import errors
from stylevault.notifications.models import Notification, NotificationKind


def notify(
    *,
    recipient: User,
    kind: str,
    actor: User | None = None,
    subject: Model | None = None,
    data: dict | None = None,
) -> Notification | None:
    """Records that `actor` (None: the platform) did `kind` to `recipient`'s `subject` (an
    Image, Style or Generation). Nobody is notified of their own acts: then None."""
    if kind not in NotificationKind.values:
        raise ValueError(f"unknown notification kind {kind!r}")
    if actor is not None and actor.pk == recipient.pk:
        return None
    fields = {"subject": str(subject)} if subject is not None else {}
    return Notification.objects.create(
        recipient=recipient,
        kind=kind,
        actor=actor,
        target_type=subject._meta.model_name if subject is not None else "",
        target_id=subject.pk if subject is not None else None,
        data={**fields, **(data or {})},
    )


def mark_read(*, user: User, ids: list[int] | None = None, all: bool = False) -> int:
    """Marks `user`'s notifications `ids` (or all of them) read; other people's ids are
    ignored. Returns how many were unread before."""
    if not all and not ids:
        raise errors.ValidationFailed(_("Name the notifications to mark read, or ask for all."))
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if not all:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())
