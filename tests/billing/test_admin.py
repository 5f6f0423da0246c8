"""Operator console: the ledger is read-only; payout batches are created, exported, paid."""

from __future__ import annotations

import pytest
from django.test import Client

from stylevault.billing.models import PayoutBatch
from stylevault.ledger import services as ledger
from stylevault.ledger.models import Transfer
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(make_user):
    operator = make_user("boss", operator=True)
    client = Client()
    client.login(username=operator.username, password=PASSWORD)
    return client


def test_ledger_is_read_only(operator_client, user):
    transfer = ledger.grant_credits(user=user, amount=5, reason="x")
    for path in ("account", "transfer", "hold"):
        assert operator_client.get(f"/admin/ledger/{path}/").status_code == 200
    assert operator_client.get(f"/admin/ledger/transfer/{transfer.pk}/change/").status_code == 200
    assert operator_client.get("/admin/ledger/transfer/add/").status_code == 403
    operator_client.post(f"/admin/ledger/transfer/{transfer.pk}/delete/", {"post": "yes"})
    assert Transfer.objects.filter(pk=transfer.pk).exists()


def test_billing_pages_and_payout_batch(operator_client, make_user, user):
    artist = make_user("painter", artist=True)
    ledger.grant_credits(user=user, amount=5000, reason="x")
    ledger.capture(hold=ledger.reserve(user=user, amount=5000), artists=[(artist, 1)])
    for path in (
        "checkout",
        "webhookevent",
        "subscription",
        "settlement",
        "payoutprofile",
        "payout",
        "payoutbatch",
    ):
        assert operator_client.get(f"/admin/billing/{path}/").status_code == 200, path
    assert (
        operator_client.post("/admin/billing/payoutbatch/", {"create_batch": "1"}).status_code
        == 302
    )
    batch = PayoutBatch.objects.get()
    response = operator_client.post(
        "/admin/billing/payoutbatch/",
        {"action": "export_csv", "_selected_action": [batch.pk], "index": 0},
    )
    assert response["Content-Type"] == "text/csv"
    assert b"painter" in response.content and b"2500" in response.content
