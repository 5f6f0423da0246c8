"""Billing writes, by concern: checkout (opening a payment page), packs (credits bought and
reversed), subscriptions, payouts; webhooks.once runs an event's effect exactly once.
billing.providers turn provider events into these calls. The names below are the ones other
rooms (api, views, admin, tasks, the command line) call."""

from stylevault.billing.services.checkout import (
    confirm_dev_checkout,
    start_pack_checkout,
    start_subscription_checkout,
)
from stylevault.billing.services.packs import fulfil_pack_checkout
from stylevault.billing.services.payouts import (
    create_payout_batch,
    mark_payout_sent,
    payout_value_cents,
    reverse_payout,
    send_artist_statements,
    send_payout_batch,
    set_payout_account,
)
from stylevault.billing.services.subscriptions import (
    apply_subscription_payment,
    cancel_subscription,
    change_tier,
    close_grant_period,
    downgrade_lapsed_subscriptions,
    renew_dev_subscriptions,
    settle_subscriber,
)

__all__ = [
    "apply_subscription_payment",
    "cancel_subscription",
    "change_tier",
    "close_grant_period",
    "confirm_dev_checkout",
    "create_payout_batch",
    "downgrade_lapsed_subscriptions",
    "fulfil_pack_checkout",
    "mark_payout_sent",
    "payout_value_cents",
    "renew_dev_subscriptions",
    "reverse_payout",
    "send_artist_statements",
    "send_payout_batch",
    "set_payout_account",
    "settle_subscriber",
    "start_pack_checkout",
    "start_subscription_checkout",
]
