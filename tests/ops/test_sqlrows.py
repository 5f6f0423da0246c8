"""Hand-written reads (stylevault.core.sqlrows) return what the ORM returns, on both databases."""

from __future__ import annotations

import pytest
from django.db.models import Model

from stylevault.accounts import selectors as accounts
from stylevault.accounts import services
from stylevault.accounts.models import ApiToken, User
from stylevault.billing import selectors as billing
from stylevault.billing.models import Subscription, SubscriptionStatus
from stylevault.ledger import selectors as ledger
from stylevault.ledger import services as ledger_services
from stylevault.ledger.models import Account

pytestmark = pytest.mark.django_db


def _fields(instance: Model) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_token_lookup_loads_the_same_token_and_user_as_the_orm(user):
    token, raw = services.create_token(user=user, name="laptop")
    found = accounts.user_by_token(services.hash_token(raw))
    assert _fields(found) == _fields(ApiToken.objects.get(pk=token.pk))
    assert _fields(found.user) == _fields(User.objects.get(pk=user.pk))
    assert found.created_at.tzinfo is not None and found.user.is_active is True


def test_token_lookup_refuses_revoked_tokens_and_inactive_users(user, make_user):
    _token, raw = services.create_token(user=user, name="laptop")
    services.revoke_token(user=user, token_id=_token.pk)
    assert accounts.user_by_token(services.hash_token(raw)) is None
    bob = make_user("bob")
    _token, raw = services.create_token(user=bob, name="laptop")
    User.objects.filter(pk=bob.pk).update(is_active=False)
    assert accounts.user_by_token(services.hash_token(raw)) is None


def test_subscription_and_accounts_match_the_orm(user):
    assert billing.subscription_of(user) is None
    Subscription.objects.create(
        user=user, tier="pro", status=SubscriptionStatus.ACTIVE, provider="stripe"
    )
    assert _fields(billing.subscription_of(user)) == _fields(Subscription.objects.get(user=user))
    assert billing.tier_of(user).name == "pro"
    ledger_services.grant_credits(user=user, amount=40, reason="welcome")
    kinds = ledger.SPENDABLE
    expected = sorted(
        (_fields(a) for a in Account.objects.filter(owner=user, kind__in=kinds)),
        key=lambda f: f["id"],
    )
    assert expected
    found = sorted((_fields(a) for a in ledger._accounts_of(user, kinds)), key=lambda f: f["id"])
    assert found == expected
    assert ledger.wallet_of(user)["balance"] == 40
