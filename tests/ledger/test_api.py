"""Wallet API (API.md §Credits) and the commands of API.md."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from stylevault.ledger import selectors, services
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_wallet_and_me(user, token_client):
    client = token_client(user)
    assert client.get("/api/v1/wallet").json() == {"balance": 0, "held": 0, "debt": 0}
    services.grant_credits(user=user, amount=70, reason="welcome")
    services.reserve(user=user, amount=20)
    assert client.get("/api/v1/wallet").json() == {"balance": 50, "held": 20, "debt": 0}
    me = client.get("/api/v1/me").json()
    assert (me["credits"], me["tier"]) == (50, "free")


def test_wallet_needs_a_user(api_client):
    assert_error(api_client.get("/api/v1/wallet"), 401, "UNAUTHORIZED")
    assert_error(api_client.get("/api/v1/wallet/transactions"), 401, "UNAUTHORIZED")


def test_transactions_are_signed_and_paginated(user, make_user, token_client):
    artist = make_user("painter", artist=True)
    for i in range(25):
        services.grant_credits(user=user, amount=10 + i, reason=f"grant {i}")
    services.capture(hold=services.reserve(user=user, amount=7), artists=[(artist, 1)])
    client = token_client(user)
    first = client.get("/api/v1/wallet/transactions").json()
    assert len(first["results"]) == 20 and first["next"]
    top = first["results"][0]
    assert (top["kind"], top["amount"], top["account"]) == ("capture", -7, "wallet")
    assert set(top) >= {"id", "kind", "amount", "created_at"}
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 6 and second["next"] is None
    ids = [r["id"] for r in first["results"] + second["results"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 26
    # other people's movements never show
    other = token_client(artist).get("/api/v1/wallet/transactions").json()["results"]
    assert [(r["kind"], r["amount"], r["account"]) for r in other] == [("capture", 7, "earnings")]
    # a cursor we did not hand out is bad input, as on every list (issue 21)
    assert_error(client.get("/api/v1/wallet/transactions?cursor=garbage"), 400, "VALIDATION_ERROR")


def test_grant_credits_command(user, capsys):
    call_command("grant-credits", user.username, "40", "--reason", "support ticket 12")
    assert "granted 40 credits" in capsys.readouterr().out
    assert selectors.wallet_of(user)["balance"] == 40
    call_command("grant-credits", user.username, "5", "--reason", "r", "--idempotency-key", "t-1")
    call_command("grant-credits", user.username, "5", "--reason", "r", "--idempotency-key", "t-1")
    assert selectors.wallet_of(user)["balance"] == 45
    with pytest.raises(CommandError):
        call_command("grant-credits", "nobody", "5", "--reason", "r")
    with pytest.raises(CommandError):
        call_command("grant-credits", user.username, "0", "--reason", "r")
    with pytest.raises(CommandError):
        call_command("grant-credits", user.username, "5", "--reason", " ")


def test_createuser_with_credits(capsys):
    call_command("createuser", "carol", "--password", "correct horse battery 9", "--credits", "30")
    from stylevault.accounts.models import User

    assert selectors.wallet_of(User.objects.get(username="carol"))["balance"] == 30


def test_metrics_count_credits_moved(user, django_capture_on_commit_callbacks):
    from stylevault.ledger.metrics import credits_moved

    before = credits_moved.labels("grant")._value.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.grant_credits(user=user, amount=9, reason="m")
    assert credits_moved.labels("grant")._value.get() == before + 9
