"""The notification matrix: each kind is produced once by the act that causes it, reaches only
its recipient, never tells anyone about their own act, and is marked read correctly."""

from __future__ import annotations

import pytest

from stylevault.generation import services as generation
from stylevault.ledger import services as ledger
from stylevault.notifications.models import Notification
from stylevault.styles import services as styles
from tests.community.factories import make_image, make_style


def listed(client) -> list[dict]:
    response = client.get("/api/v1/notifications")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def only(client) -> dict:
    notifications = listed(client)
    assert len(notifications) == 1, notifications
    return notifications[0]


@pytest.fixture
def scene(make_user):
    artist = make_user("painter", artist=True)
    owner, fan = make_user("owner"), make_user("fan")
    return artist, owner, fan, make_image(owner, make_style(artist))


@pytest.mark.django_db
def test_a_like_notifies_the_owner_once(scene, token_client):
    _artist, owner, fan, image = scene
    for _ in range(2):
        token_client(fan).post(f"/api/v1/images/{image.pk}/like")
    token_client(owner).post(f"/api/v1/images/{image.pk}/like")  # their own: no notification
    note = only(token_client(owner))
    assert note["kind"] == "image_liked" and note["read"] is False
    assert note["actor"] == {"id": fan.pk, "username": "fan"}
    assert note["target"] == {"type": "image", "id": image.pk}
    assert note["message"] == "fan liked your image."
    assert listed(token_client(fan)) == []


@pytest.mark.django_db
def test_each_comment_notifies_the_owner(scene, token_client):
    _artist, owner, fan, image = scene
    url = f"/api/v1/images/{image.pk}/comments"
    token_client(fan).post(url, {"body": "wow"}, format="json")
    token_client(owner).post(url, {"body": "thanks"}, format="json")
    note = only(token_client(owner))
    assert note["kind"] == "image_commented" and note["message"] == "fan commented on your image."
    assert note["data"]["comment_id"] and listed(token_client(fan)) == []


@pytest.mark.django_db
def test_training_outcomes_notify_the_artist(make_user, token_client):
    artist, rival = make_user("painter", artist=True), make_user("rival", artist=True)
    clean = make_style(artist, name="Ink", status="checking")
    styles.check_finished(style_id=clean.pk, report={"flagged": False})
    assert only(token_client(artist)) | {"id": 0, "created_at": ""} == {
        "id": 0,
        "created_at": "",
        "kind": "model_training_completed",
        "read": False,
        "message": "Training of your style “Ink” is complete.",
        "actor": None,
        "target": {"type": "style", "id": clean.pk},
        "data": {"subject": "Ink", "style": "Ink", "in_review": False},
    }
    broken = make_style(artist, name="Broken", status="training")
    styles.job_failed(style_id=broken.pk, stage="training", message="out of memory")
    flagged = make_style(artist, name="Echo", status="checking")
    report = {"flagged": True, "similar": [{"artist_id": rival.pk, "similarity": 0.95}]}
    styles.check_finished(style_id=flagged.pk, report=report)
    notes = listed(token_client(artist))
    assert [(n["kind"], n["target"]["id"]) for n in notes] == [
        ("model_training_completed", flagged.pk),
        ("model_training_failed", broken.pk),
        ("model_training_completed", clean.pk),
    ]
    assert notes[0]["message"].endswith("an operator will review it before it is published.")
    assert notes[1]["message"] == "Training of your style “Broken” failed."
    told = only(token_client(rival))
    assert told["kind"] == "style_similarity_flagged" and told["target"]["id"] == flagged.pk


@pytest.mark.django_db
def test_generation_outcomes_notify_the_buyer(make_user, token_client):
    artist, buyer = make_user("painter", artist=True), make_user("buyer")
    style = make_style(artist)
    ledger.grant_credits(user=buyer, amount=100, reason="test credits")
    body = {"styles": [{"id": style.pk, "weight": 1}], "prompt": "a lighthouse", "steps": 3}
    done = generation.request_generation(user=buyer, body={**body, "seed": 1})
    generation.deliver(generation_id=done.pk, images=[])
    failing = generation.request_generation(user=buyer, body={**body, "seed": 2})
    generation.fail(
        generation_id=failing.pk, job_status="failed", error_code="", message="worker lost"
    )
    cancelled = generation.request_generation(user=buyer, body={**body, "seed": 3})
    generation.cancel_generation(user=buyer, generation_id=cancelled.pk)  # their own act
    notes = listed(token_client(buyer))
    assert [(n["kind"], n["target"]) for n in notes] == [
        ("image_generation_failed", {"type": "generation", "id": failing.pk}),
        ("image_generation_completed", {"type": "generation", "id": done.pk}),
    ]
    assert notes[0]["message"] == "Your image generation failed; its credits were returned."
    assert listed(token_client(artist)) == []  # the artist hears nothing of the buyer's


@pytest.mark.django_db
def test_marking_read(scene, token_client, make_user):
    _artist, owner, fan, image = scene
    others = [make_user(f"liker{n}") for n in range(3)]
    for user in (fan, *others):
        token_client(user).post(f"/api/v1/images/{image.pk}/like")
    client = token_client(owner)
    notes = listed(client)
    assert client.get("/api/v1/notifications/unread").json() == {"unread": 4}
    response = client.post("/api/v1/notifications/read", {"ids": [notes[0]["id"]]}, format="json")
    assert response.json() == {"marked": 1, "unread": 3}
    again = client.post("/api/v1/notifications/read", {"ids": [notes[0]["id"]]}, format="json")
    assert again.json() == {"marked": 0, "unread": 3}
    assert [n["read"] for n in listed(client)] == [True, False, False, False]
    assert client.get("/api/v1/notifications").json()["unread"] == 3
    assert client.post("/api/v1/notifications/read", {"all": True}, format="json").json() == {
        "marked": 3,
        "unread": 0,
    }


@pytest.mark.django_db
def test_nobody_marks_or_reads_other_peoples_notifications(scene, token_client):
    _artist, _owner, fan, image = scene
    token_client(fan).post(f"/api/v1/images/{image.pk}/like")
    note = Notification.objects.get()
    thief = token_client(fan)
    assert thief.post("/api/v1/notifications/read", {"ids": [note.pk]}, format="json").json() == {
        "marked": 0,
        "unread": 0,
    }
    thief.post("/api/v1/notifications/read", {"all": True}, format="json")
    note.refresh_from_db()
    assert note.read_at is None and listed(thief) == []
