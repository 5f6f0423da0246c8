"""Following artists: idempotent, artists only, never yourself; the list of artists I follow."""

from __future__ import annotations

import pytest

from stylevault.community.models import Follow
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_follow_and_unfollow_are_idempotent(token_client, artist, fan):
    client = token_client(fan)
    url = f"/api/v1/artists/{artist.pk}/follow"
    assert client.post(url).json() == {"following": True, "follower_count": 1}
    assert client.post(url).json() == {"following": True, "follower_count": 1}
    assert Follow.objects.count() == 1
    assert client.delete(url).json() == {"following": False, "follower_count": 0}
    assert client.delete(url).json() == {"following": False, "follower_count": 0}


def test_only_artists_can_be_followed_and_never_yourself(token_client, api_client, artist, fan):
    assert_error(token_client(fan).post(f"/api/v1/artists/{fan.pk}/follow"), 404, "NOT_FOUND")
    assert_error(token_client(fan).post("/api/v1/artists/999999/follow"), 404, "NOT_FOUND")
    assert_error(
        token_client(artist).post(f"/api/v1/artists/{artist.pk}/follow"), 400, "VALIDATION_ERROR"
    )
    assert_error(api_client.post(f"/api/v1/artists/{artist.pk}/follow"), 401, "UNAUTHORIZED")
    assert not Follow.objects.exists()


def test_artists_i_follow(token_client, make_user, fan):
    artists = [make_user(f"artist{n}", artist=True) for n in range(3)]
    client = token_client(fan)
    for artist in artists:
        client.post(f"/api/v1/artists/{artist.pk}/follow")
    first = client.get("/api/v1/me/following?limit=2").json()
    assert [a["username"] for a in first["results"]] == ["artist2", "artist1"]
    assert set(first["results"][0]) == {"id", "username", "followed_at"}
    rest = client.get(first["next"]).json()
    assert [a["username"] for a in rest["results"]] == ["artist0"] and rest["next"] is None
    assert token_client(make_user("loner")).get("/api/v1/me/following").json() == {
        "results": [],
        "next": None,
    }
