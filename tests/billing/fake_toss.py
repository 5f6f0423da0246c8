"""A fake of Toss Payments' core API v1 on 127.0.0.1, speaking its documented JSON: confirm,
read and cancel payments, Basic auth with the secret key, Idempotency-Key replays. Tests
play the buyer with `pay` (what the widget would have authorised) and Toss's own console
with `cancel`."""

from __future__ import annotations

import base64
import itertools
import json
import threading
from datetime import UTC, datetime

from tests.billing.fake_http import FakeServer


def _now() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


class FakeToss(FakeServer):
    def __init__(self, secret_key: str):
        self.secret_key = secret_key
        self.payments: dict[str, dict] = {}
        self.requests: list[dict] = []
        self.replies: dict[str, tuple[int, dict]] = {}  # Idempotency-Key → first answer
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        super().__init__()

    def answer(self, method: str, path: str, headers, raw: bytes) -> tuple[int, dict]:
        request = {"method": method, "path": path, "body": json.loads(raw or b"{}"),
                   "idempotency_key": headers.get("Idempotency-Key"),
                   "authorization": headers.get("Authorization")}  # fmt: skip
        with self._lock:
            self.requests.append(request)
            return self.route(request)

    # -- the buyer and Toss's console -----------------------------------------------------

    def pay(self, order_id: str, amount: int) -> str:
        """The buyer approved ``amount`` in the widget: a payment waiting for confirmation."""
        key = f"tgen_{next(self._ids):04d}"
        self.payments[key] = {
            "mId": "tvivarepublica", "version": "2022-11-16", "paymentKey": key,
            "orderId": order_id, "orderName": "credits", "status": "IN_PROGRESS",
            "currency": "KRW", "method": "카드", "totalAmount": amount,
            "balanceAmount": amount, "suppliedAmount": amount - round(amount / 11),
            "vat": round(amount / 11), "requestedAt": _now(), "approvedAt": None,
            "cancels": None, "receipt": {"url": f"https://dashboard.tosspayments.test/{key}"},
        }  # fmt: skip
        return key

    def cancel(self, key: str, amount: int | None = None) -> dict:
        payment = self.payments[key]
        amount = amount or payment["balanceAmount"]
        payment["balanceAmount"] -= amount
        payment["status"] = "CANCELED" if payment["balanceAmount"] == 0 else "PARTIAL_CANCELED"
        payment["cancels"] = (payment["cancels"] or []) + [
            {
                "cancelAmount": amount,
                "cancelReason": "test",
                "canceledAt": _now(),
                "transactionKey": f"tx_{next(self._ids)}",
            }
        ]
        return payment

    # -- the API --------------------------------------------------------------------------

    def _authorised(self, request: dict) -> bool:
        token = base64.b64encode(f"{self.secret_key}:".encode()).decode()
        return request["authorization"] == f"Basic {token}"

    def route(self, request: dict) -> tuple[int, dict]:
        if not self._authorised(request):
            return 401, {"code": "UNAUTHORIZED_KEY", "message": "인증되지 않은 시크릿 키"}
        key = request["idempotency_key"]
        if key and key in self.replies:
            return self.replies[key]
        answer = self._route(request["method"], request["path"], request["body"])
        if key and request["method"] == "POST":
            self.replies[key] = answer
        return answer

    def _route(self, method: str, path: str, body: dict) -> tuple[int, dict]:
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["v1", "payments", "confirm"]:
            payment = self.payments.get(body.get("paymentKey"))
            if payment is None:
                return 404, {"code": "NOT_FOUND_PAYMENT", "message": "존재하지 않는 결제"}
            if payment["status"] == "DONE":
                return 400, {"code": "ALREADY_PROCESSED_PAYMENT", "message": "이미 처리된 결제"}
            if payment["status"] != "IN_PROGRESS":
                return 403, {"code": "FORBIDDEN_REQUEST", "message": payment["status"]}
            if (
                body.get("orderId") != payment["orderId"]
                or body.get("amount") != (payment["totalAmount"])
            ):
                return 400, {"code": "INVALID_REQUEST", "message": "결제 금액이 일치하지 않습니다"}
            payment.update(status="DONE", approvedAt=_now())
            return 200, payment
        if len(parts) == 3 and parts[:2] == ["v1", "payments"] and method == "GET":
            payment = self.payments.get(parts[2])
            if payment is None:
                return 404, {"code": "NOT_FOUND_PAYMENT", "message": "존재하지 않는 결제"}
            return 200, payment
        if len(parts) == 4 and parts[3] == "cancel" and method == "POST":
            payment = self.payments.get(parts[2])
            if payment is None or payment["status"] not in ("DONE", "PARTIAL_CANCELED"):
                return 403, {"code": "NOT_CANCELABLE_PAYMENT", "message": "취소할 수 없는 결제"}
            amount = body.get("cancelAmount")
            if amount is not None and not 0 < amount <= payment["balanceAmount"]:
                return 400, {"code": "INVALID_CANCEL_AMOUNT", "message": "취소 금액 오류"}
            return 200, self.cancel(parts[2], amount)
        return 404, {"code": "NOT_FOUND", "message": path}

    def calls(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path]
