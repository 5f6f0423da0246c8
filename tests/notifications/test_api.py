"""Notification API details: messages in the recipient's language, paging, input errors."""

from __future__ import annotations

import pytest
from django.utils.translation import gettext_lazy

from stylevault.notifications import selectors, services
from stylevault.notifications.models import NotificationKind
from tests.community.factories import make_image, make_style
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_messages_are_rendered_in_the_recipients_language(make_user, token_client, monkeypatch):
    # An already translated sentence stands in for the message, so the check does not depend
    # on this app's own catalogue entries.
    monkeypatch.setitem(
        selectors.MESSAGES, NotificationKind.IMAGE_LIKED, gettext_lazy("Not found.")
    )
    fan = make_user("fan")
    for locale, expected in (("ko", "찾을 수 없습니다."), ("en", "Not found.")):
        recipient = make_user(f"reader-{locale}")
        recipient.locale = locale
        recipient.save(update_fields=["locale"])
        services.notify(recipient=recipient, kind=NotificationKind.IMAGE_LIKED, actor=fan)
        client = token_client(recipient)
        for language in ("en", "ko"):  # whatever language the request asks for
            body = client.get("/api/v1/notifications", HTTP_ACCEPT_LANGUAGE=language).json()
            assert body["results"][0]["message"] == expected


def test_notify_rules(make_user):
    artist = make_user("painter", artist=True)
    style = make_style(artist, name="Ink")
    image = make_image(make_user("owner"), style)
    assert services.notify(recipient=artist, kind="image_liked", actor=artist) is None
    note = services.notify(recipient=artist, kind="model_training_failed", subject=style)
    assert (note.target_type, note.target_id, note.data) == ("style", style.pk, {"subject": "Ink"})
    assert selectors.render_message(note) == "Training of your style “Ink” failed."
    liked = services.notify(recipient=image.owner, kind="image_liked", subject=image, data={"x": 1})
    assert selectors.render_message(liked) == "Someone liked your image."
    with pytest.raises(ValueError, match="unknown notification kind"):
        services.notify(recipient=artist, kind="nonsense")


def test_paging_and_errors(make_user, token_client, api_client):
    user, actor = make_user("reader"), make_user("actor")
    for _ in range(5):
        services.notify(recipient=user, kind="image_liked", actor=actor)
    client = token_client(user)
    first = client.get("/api/v1/notifications?limit=3").json()
    rest = client.get(first["next"]).json()
    assert len(first["results"]) == 3 and len(rest["results"]) == 2 and rest["next"] is None
    assert {n["id"] for n in first["results"]}.isdisjoint(n["id"] for n in rest["results"])
    for body in ({}, {"ids": []}, {"all": False}, {"ids": ["x"]}, {"ids": [0]}, {"ids": [2**64]}):
        assert_error(
            client.post("/api/v1/notifications/read", body, format="json"), 400, "VALIDATION_ERROR"
        )
    assert_error(client.get("/api/v1/notifications?cursor=%%%"), 400, "VALIDATION_ERROR")
    for path in ("/api/v1/notifications", "/api/v1/notifications/unread"):
        assert_error(api_client.get(path), 401, "UNAUTHORIZED")
