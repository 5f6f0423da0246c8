"""Reads of notifications, and their messages rendered in a reader's language."""

from __future__ import annotations

from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from stylevault.accounts.models import User
from stylevault.core.paging import DEFAULT_LIMIT, Page, keyset_page
from stylevault.notifications.models import Notification, NotificationKind

MESSAGES = {
    NotificationKind.IMAGE_LIKED: _("%(actor)s liked your image."),
    NotificationKind.IMAGE_COMMENTED: _("%(actor)s commented on your image."),
    NotificationKind.MODEL_TRAINING_COMPLETED: _(
        "Training of your style “%(subject)s” is complete."
    ),
    NotificationKind.STYLE_SIMILARITY_FLAGGED: _(
        "The new style “%(subject)s” looks very similar to yours; an operator will review it."
    ),
    NotificationKind.MODEL_TRAINING_FAILED: _("Training of your style “%(subject)s” failed."),
    NotificationKind.IMAGE_GENERATION_COMPLETED: _("Your images are ready."),
    NotificationKind.IMAGE_GENERATION_FAILED: _(
        "Your image generation failed; its credits were returned."
    ),
}
# A trained style that the checks flagged waits for an operator before it is published.
IN_REVIEW_MESSAGE = _(
    "Training of your style “%(subject)s” is complete; an operator will review it before it is published."
)


class _Fields(dict):
    """Message placeholders; one a caller did not fill renders empty instead of failing."""

    def __missing__(self, key: str) -> str:
        return ""


def render_message(notification: Notification, language: str | None = None) -> str:
    """The notification as a sentence, in `language` (default: the recipient's)."""
    with translation.override(language or notification.recipient.locale):
        actor = notification.actor.username if notification.actor else gettext("Someone")
        fields = _Fields({**notification.data, "actor": actor})
        in_review = (
            notification.kind == NotificationKind.MODEL_TRAINING_COMPLETED
            and notification.data.get("in_review") is True
        )
        template = IN_REVIEW_MESSAGE if in_review else MESSAGES[notification.kind]
        return str(template) % fields


def notifications_page(
    *, user: User, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page[Notification]:
    """`user`'s notifications, newest first."""
    rows = user.notifications.select_related("actor")
    return keyset_page(rows, field="created_at", cursor=cursor, limit=limit)


def unread_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


# The page of each kind of subject (the URL names of the apps that own them).
SUBJECT_PAGES = {
    "image": "community:image",
    "style": "styles:detail",
    "generation": "generation:detail",
}


def target_url(notification: Notification) -> str | None:
    """The page of the notification's subject, in the active language, when it has one."""
    page = SUBJECT_PAGES.get(notification.target_type)
    if page is None or notification.target_id is None:
        return None
    return reverse(page, args=[notification.target_id])
