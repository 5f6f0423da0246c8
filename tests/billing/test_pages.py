"""Billing pages: wallet and history, buying credits (development provider), the plan, the
artist earnings dashboard with its server-side SVG chart; English and Korean."""

from __future__ import annotations

import pytest
from django.test import Client

from stylevault.billing.models import Checkout
from stylevault.ledger import selectors
from stylevault.ledger import services as ledger
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_wallet_page(user, lang):
    ledger.grant_credits(user=user, amount=12, reason="hello")
    page = logged_in(user).get(f"/{lang}/wallet/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-test="balance">12<' in html and 'data-test="history-row"' in html
    assert "<script>" not in html  # the CSP allows no inline script


def test_pages_need_a_login(client):
    for path in ("/en/wallet/", "/en/credits/buy/", "/en/subscription/", "/en/earnings/"):
        response = client.get(path)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_buy_credits_with_the_development_provider(user):
    client = logged_in(user)
    assert 'data-test="buy-pack-100-KRW"' in client.get("/en/credits/buy/").content.decode()
    response = client.post("/en/credits/buy/", {"pack_id": "pack-100", "currency": "KRW"})
    checkout = Checkout.objects.get()
    assert response.status_code == 302
    follow = client.get(response["Location"])
    assert follow.status_code == 302 and follow["Location"].endswith(
        f"/checkout/{checkout.pk}/dev/"
    )
    assert 'data-test="confirm-purchase"' in client.get(follow["Location"]).content.decode()
    done = client.post(follow["Location"])
    assert done.status_code == 302 and done["Location"].endswith("/wallet/")
    assert selectors.wallet_of(user)["balance"] == 100
    bad = client.post("/en/credits/buy/", {"pack_id": "nope"})
    assert bad.status_code == 200 and Checkout.objects.count() == 1


def test_subscription_page_subscribe_and_cancel(user):
    client = logged_in(user)
    page = client.get("/en/subscription/").content.decode()
    assert 'data-test="tier-studio"' in page and 'data-test="choose-starter"' in page
    response = client.post("/en/subscription/", {"action": "subscribe", "tier": "starter"})
    checkout = Checkout.objects.get()
    client.post(f"/en/checkout/{checkout.pk}/dev/")
    assert 'data-test="current-tier">Starter<' in client.get("/en/subscription/").content.decode()
    client.post("/en/subscription/", {"action": "cancel"})
    assert "Ends on" in client.get("/en/subscription/").content.decode()
    assert response.status_code == 302


def test_earnings_dashboard_with_chart(make_user, user):
    artist = make_user("painter", artist=True)
    ledger.grant_credits(user=user, amount=30, reason="x")
    ledger.capture(hold=ledger.reserve(user=user, amount=30), artists=[(artist, 1)])
    client = logged_in(artist)
    html = client.get("/en/earnings/").content.decode()
    assert 'data-test="earnings-chart"' in html and "<rect" in html and ": 30</title>" in html
    assert client.post("/en/earnings/", {"stripe_account_id": "nope"}).status_code == 400
    assert client.post("/en/earnings/", {"stripe_account_id": "acct_9"}).status_code == 302
    assert logged_in(user).get("/en/earnings/").status_code == 403
    assert client.get("/ko/earnings/").status_code == 200


def test_korean_wallet_page(user):
    page = logged_in(user).get("/ko/wallet/").content.decode()
    assert "사용 가능한 크레딧" in page  # locale/ko, compiled by `make messages`
