"""The API's JSON renderer (orjson, decision 018) answers what DRF's own renderer would."""

from __future__ import annotations

import datetime
import decimal
import json
import uuid

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer as DRFRenderer
from rest_framework.utils.serializer_helpers import ReturnDict

from stylevault.core.api import JSONRenderer

AWARE = datetime.datetime(2026, 11, 30, 23, 5, 7, 123456, tzinfo=datetime.UTC)
PAYLOAD = {
    "created_at": AWARE,
    "seoul": AWARE.astimezone(datetime.timezone(datetime.timedelta(hours=9))),
    "day": datetime.date(2026, 12, 1),
    "clock": datetime.time(9, 30),
    "message": gettext_lazy("Not found."),
    "price": decimal.Decimal("12.50"),
    "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "nested": ReturnDict({"tags": ["水彩", "ink"], "ok": True, "none": None}, serializer=None),
    "line": "a\u2028b\u2029c",
    "limit": 2**63 - 1,
}


def _both(data, media_type=None, context=None) -> tuple[bytes, bytes]:
    return (
        JSONRenderer().render(data, media_type, context),
        DRFRenderer().render(data, media_type, context),
    )


def test_clients_read_the_same_values_as_from_drf(monkeypatch):
    drf = DRFRenderer().render(PAYLOAD)
    # Encoded by orjson, not by falling back to DRF (which would be correct, and slower).
    monkeypatch.setattr(DRFRenderer, "render", lambda *args: pytest.fail("fell back to DRF"))
    ours = JSONRenderer().render(PAYLOAD)
    assert json.loads(ours) == json.loads(drf)
    assert json.loads(ours)["created_at"] == "2026-11-30T23:05:07.123456Z"  # DRF's form
    assert b"\\u2028" in ours and b"\\u2029" in ours  # still valid JavaScript
    assert b"\xe2\x80\xa8" not in ours


@pytest.mark.parametrize("data", [{"huge": 2**70}, {"counts": {7: "seven", None: 0}}])
def test_what_orjson_refuses_is_left_to_drf(data):
    ours, drf = _both(data)
    assert ours == drf and json.loads(ours) == json.loads(drf)


def test_an_indent_asked_for_is_honoured():
    ours, drf = _both(PAYLOAD, "application/json; indent=2")
    assert ours == drf and b'\n  "created_at"' in ours


def test_unknown_types_still_refused_like_drf():
    with pytest.raises(TypeError):
        JSONRenderer().render({"x": object()})


@pytest.mark.django_db
def test_api_answers_through_it(client):
    response = client.get("/api/v1/me")
    assert type(response.accepted_renderer) is JSONRenderer
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
