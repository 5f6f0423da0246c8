"""The e-mails StyleVault sends: each kind's subject, and whether a user may opt out of it.

Essential kinds (account security and money the user paid or is owed) are always sent;
the rest honour the user's opt-out and carry a List-Unsubscribe header."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Kind:
    name: str
    subject: Promise
    essential: bool


KINDS = {
    k.name: k
    for k in (
        Kind("verify_email", _("Confirm your e-mail address"), True),
        Kind("receipt", _("Your StyleVault receipt"), True),
        Kind("subscription_started", _("Your plan has started"), True),
        Kind("subscription_renewed", _("Your plan was renewed"), True),
        Kind("payment_failed", _("Your payment failed"), True),
        Kind("subscription_downgraded", _("Your plan changed to Free"), True),
        Kind("refund", _("A payment was refunded or disputed"), True),
        Kind("training_finished", _("Your style is trained"), False),
        Kind("training_failed", _("Your style could not be trained"), False),
        Kind("style_held", _("Your style is held for review"), False),
        Kind("review_outcome", _("The review of your style is done"), False),
        Kind("artist_statement", _("Your monthly artist statement"), False),
        Kind("payout_sent", _("Your payout was sent"), True),
    )
}


def optional_kinds() -> list[Kind]:
    return [k for k in KINDS.values() if not k.essential]
