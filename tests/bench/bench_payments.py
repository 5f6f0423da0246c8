"""Payments benchmark: webhook handling per provider with duplicates mixed in, and e-mails
queued → delivered through a local SMTP server.

    python tests/bench/bench_payments.py [--orders 200] [--emails 200] [--db sqlite|postgres]

In a child process with a throwaway database: each provider's webhook endpoint gets one
paid-order event per order, every event delivered twice in shuffled order (Stripe and Lemon
Squeezy signed; Toss's unsigned hint re-read from a local fake of its API over HTTP). Checked
after: each order credited exactly once and `ledger check` clean. Then e-mails are queued and
their jobs run until the local aiosmtpd server has them all, each once.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("STYLEVAULT_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
BENCH_DB = "sv_payments_bench"
STRIPE_SECRET, LEMON_SECRET, TOSS_SECRET = "whsec_bench", "lemon-bench", "test_sk_bench"


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run_one(db: str, orders: int, emails: int) -> list[dict]:
    sys.path.insert(0, str(ROOT))
    from aiosmtpd.controller import Controller

    from tests.billing.fake_toss import FakeToss

    tmp = tempfile.mkdtemp(prefix="sv-bench-payments-")
    toss, smtp_port = FakeToss(TOSS_SECRET), _free_port()
    inbox: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            inbox.append(envelope.original_content)
            return "250 OK"

    smtp = Controller(Handler(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    os.environ.update({
        "STYLEVAULT_DATA_DIR": tmp, "STYLEVAULT_LOG_FORMAT": "text",
        "DJANGO_SETTINGS_MODULE": "stylevault.settings",
        "STYLEVAULT_ALLOWED_HOSTS": "testserver",
        "STYLEVAULT_STRIPE_SECRET_KEY": "sk_bench", "STYLEVAULT_STRIPE_WEBHOOK_SECRET": STRIPE_SECRET,
        "STYLEVAULT_LEMONSQUEEZY_WEBHOOK_SECRET": LEMON_SECRET,
        "STYLEVAULT_TOSS_CLIENT_KEY": "test_ck_bench", "STYLEVAULT_TOSS_SECRET_KEY": TOSS_SECRET,
        "STYLEVAULT_TOSS_API_URL": toss.url,
        "STYLEVAULT_EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
    })  # fmt: skip
    if db == "postgres":
        _pg_admin(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        _pg_admin(f"CREATE DATABASE {BENCH_DB}")
        os.environ["DATABASE_URL"] = f"{PG_URL.rsplit('/', 1)[0]}/{BENCH_DB}"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    try:
        return _bench(db, orders, emails, toss, inbox)
    finally:
        smtp.stop()
        toss.close()
        if db == "postgres":
            from django.db import connections

            connections.close_all()
            _pg_admin(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def _stripe_delivery(checkout, n: int) -> tuple[str, bytes, dict]:
    body = json.dumps({
        "id": f"evt_{n}", "object": "event", "type": "checkout.session.completed",
        "created": int(time.time()), "data": {"object": {
            "id": f"cs_{n}", "object": "checkout.session", "mode": "payment",
            "payment_status": "paid", "amount_total": checkout.amount, "currency": "usd",
            "payment_intent": f"pi_{n}", "metadata": {"checkout_id": str(checkout.pk)}}},
    }).encode()  # fmt: skip
    at = int(time.time())
    digest = hmac.new(STRIPE_SECRET.encode(), f"{at}.".encode() + body, hashlib.sha256)
    headers = {"HTTP_STRIPE_SIGNATURE": f"t={at},v1={digest.hexdigest()}"}
    return "/api/v1/webhooks/stripe", body, headers


def _lemon_delivery(checkout, n: int) -> tuple[str, bytes, dict]:
    body = json.dumps({
        "meta": {"event_name": "order_created", "custom_data": {"checkout_id": str(checkout.pk)}},
        "data": {"type": "orders", "id": str(n), "attributes": {
            "status": "paid", "total": checkout.amount, "currency": "USD"}},
    }).encode()  # fmt: skip
    signature = hmac.new(LEMON_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return "/api/v1/webhooks/lemonsqueezy", body, {"HTTP_X_SIGNATURE": signature}


def _bench(db: str, orders: int, emails: int, toss, inbox: list[bytes]) -> list[dict]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from stylevault.accounts.models import User
    from stylevault.billing.models import Checkout, CheckoutStatus
    from stylevault.jobs import runner
    from stylevault.jobs import services as jobs
    from stylevault.ledger import selectors
    from stylevault.mail import services as mail
    from stylevault.mail.models import OutboxEmail, OutboxStatus

    call_command("migrate", verbosity=0)
    buyers = [User.objects.create(username=f"b{i}", email=f"b{i}@bench.test") for i in range(50)]
    client = Client()
    rows = []
    for provider, currency, amount in (("stripe", "USD", 750), ("lemonsqueezy", "USD", 750),
                                       ("toss", "KRW", 10_000)):  # fmt: skip
        checkouts = [
            Checkout.objects.create(
                user=buyers[n % len(buyers)],
                provider=provider,
                kind="pack",
                pack_id="pack-100",
                credits=100,
                currency=currency,
                amount=amount,
            )
            for n in range(orders)
        ]
        deliveries = []
        for n, checkout in enumerate(checkouts):
            if provider == "stripe":
                deliveries.append(_stripe_delivery(checkout, n))
            elif provider == "lemonsqueezy":
                deliveries.append(_lemon_delivery(checkout, n))
            else:
                key = toss.pay(str(checkout.pk), amount)
                toss.payments[key].update(status="DONE")
                hint = {"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": key}}
                deliveries.append(("/api/v1/webhooks/toss", json.dumps(hint).encode(), {}))
        deliveries *= 2  # every event twice, as providers retry
        random.Random(7).shuffle(deliveries)
        before = sum(selectors.credits_of(b) for b in buyers)
        began = time.perf_counter()
        statuses = [
            client.post(path, body, content_type="application/json", **headers).status_code
            for path, body, headers in deliveries
        ]
        elapsed = time.perf_counter() - began
        granted = sum(selectors.credits_of(b) for b in buyers) - before
        completed = Checkout.objects.filter(provider=provider, status=CheckoutStatus.COMPLETED)
        rows.append({
            "benchmark": f"webhooks {provider}", "db": db, "events": len(deliveries),
            "events_per_s": round(len(deliveries) / elapsed, 1),
            "exactly_once": granted == 100 * orders and completed.count() == orders
            and set(statuses) == {200},
            "goal": ">= 100 events/s, each order credited once",
        })  # fmt: skip
    OutboxEmail.objects.all().delete()
    inbox.clear()
    began = time.perf_counter()
    for n in range(emails):
        mail.queue(user_id=buyers[n % len(buyers)].pk, kind="receipt", key=f"bench:{n}",
                   context={"credits": 100, "amount": "7.50 USD", "checkout": str(n)})  # fmt: skip
    queued = time.perf_counter()
    while (job := jobs.claim(queues=["mail"], worker="bench")) is not None:
        runner.execute(job)
    done = time.perf_counter()
    rows.append({
        "benchmark": "e-mail queued→delivered (SMTP)", "db": db, "emails": emails,
        "queue_per_s": round(emails / (queued - began), 1),
        "delivered_per_s": round(emails / (done - queued), 1),
        "exactly_once": len(inbox) == emails
        and not OutboxEmail.objects.exclude(status=OutboxStatus.SENT).exists(),
        "goal": ">= 20 e-mails/s through one worker",
    })  # fmt: skip
    clean = selectors.check_books().clean
    for row in rows:
        row["books_clean"] = clean
    return rows


def main(orders: int = 200, emails: int = 200, dbs: tuple[str, ...] = ("sqlite",)) -> list[dict]:
    from tests.bench.child import run_child

    rows = []
    for db in dbs:
        args = [db, "--orders", str(orders), "--emails", str(emails)]
        result, stderr = run_child(__file__, args)
        rows += result["rows"] if result else [{"benchmark": "payments", "db": db,
                                                "problems": [stderr]}]  # fmt: skip
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--emails", type=int, default=200)
    parser.add_argument("--db", choices=["postgres", "sqlite"], action="append")
    parser.add_argument("--child", choices=["postgres", "sqlite"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps({"rows": _run_one(args.child, args.orders, args.emails)}))
        sys.exit(0)
    for row in main(args.orders, args.emails, tuple(args.db or ("sqlite",))):
        print(row)
