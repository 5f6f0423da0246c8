"""Notification pages: the list with mark-read buttons, and the header badge htmx polls."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from stylevault.notifications import services
from stylevault.notifications.models import Notification
from stylevault.notifications.selectors import target_url
from tests.community.factories import make_image, make_style

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(make_user):
    user = make_user("reader")
    image = make_image(user, make_style(make_user("painter", artist=True)))
    for name in ("fan1", "fan2"):
        services.notify(recipient=user, kind="image_liked", actor=make_user(name), subject=image)
    return user


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_list_and_badge(reader, lang):
    client = logged_in(reader)
    html = client.get(f"/{lang}/notifications/").content.decode()
    assert html.count('data-test="notification"') == 2 and 'data-test="mark-all-read"' in html
    assert f'href="/{lang}/images/' in html  # a like links to the image
    badge = client.get(f"/{lang}/notifications/badge/").content.decode()
    assert 'data-test="unread-count"' in badge and "(2)" in badge


def test_mark_one_then_all(reader):
    client = logged_in(reader)
    first = Notification.objects.filter(recipient=reader).first()
    assert client.post("/en/notifications/read/", {"id": first.pk}).status_code == 302
    assert Notification.objects.filter(recipient=reader, read_at__isnull=True).count() == 1
    client.post("/en/notifications/read/", {"all": "on"})
    assert not Notification.objects.filter(recipient=reader, read_at__isnull=True).exists()
    assert "unread-count" not in client.get("/en/notifications/badge/").content.decode()
    assert client.post("/en/notifications/read/", {}).status_code == 400


def test_anonymous_visitors(client):
    assert client.get("/en/notifications/").status_code == 302
    assert client.get("/en/notifications/badge/").status_code == 286  # htmx: stop polling


def test_each_subject_links_to_its_page(make_user):
    user = make_user("reader")
    artist = make_user("painter", artist=True)
    style = make_style(artist)
    image = make_image(user, style)
    kinds = {
        "image_liked": image,
        "model_training_failed": style,
        "image_generation_completed": image.generation,
    }
    notes = {
        kind: services.notify(recipient=user, kind=kind, subject=s) for kind, s in kinds.items()
    }
    with translation.override("ko"):
        assert target_url(notes["image_liked"]) == f"/ko/images/{image.pk}/"
        assert target_url(notes["model_training_failed"]) == f"/ko/styles/{style.pk}/"
        assert (
            target_url(notes["image_generation_completed"])
            == f"/ko/generations/{image.generation_id}/"
        )
    assert target_url(services.notify(recipient=user, kind="image_liked")) is None
