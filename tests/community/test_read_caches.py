"""The feed and style listings are kept per process (stylevault.core.readcache); every change
that users would see must show on the very next request."""

from __future__ import annotations

import pytest

from stylevault.community import selectors
from stylevault.core import readcache
from stylevault.generation import services as generation
from stylevault.ops.models import ReadGeneration
from stylevault.styles import services as styles
from stylevault.styles.models import StyleStatus
from tests.community.factories import make_image, make_style

pytestmark = pytest.mark.django_db


def feed_ids(client) -> list[int]:
    return [item["id"] for item in client.get("/api/v1/feed").json()["results"]]


def listed(client, query: str) -> list[int]:
    response = client.get(f"/api/v1/styles?{query}")
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def test_an_image_made_private_leaves_the_cached_feed_at_once(api_client, style, owner):
    shown, hidden = make_image(owner, style), make_image(owner, style)
    assert feed_ids(api_client) == [hidden.pk, shown.pk]
    generation.update_image(user=owner, image_id=hidden.pk, visibility="private")
    assert feed_ids(api_client) == [shown.pk]
    generation.update_image(user=owner, image_id=hidden.pk, visibility="public")
    assert feed_ids(api_client)[0] == hidden.pk, "made public again: newest in the feed"


def test_new_public_images_show_but_new_private_ones_do_not_bump(api_client, style, owner):
    first = make_image(owner, style)
    assert feed_ids(api_client) == [first.pk]
    before = ReadGeneration.objects.get(name="feed").generation
    make_image(owner, style, public=False)
    assert ReadGeneration.objects.get(name="feed").generation == before
    newer = make_image(owner, style)
    assert feed_ids(api_client) == [newer.pk, first.pk]


def test_likes_and_their_viewer_show_in_the_cached_feed(token_client, style, owner, fan):
    image = make_image(owner, style)
    fan_client, owner_client = token_client(fan), token_client(owner)
    assert fan_client.get("/api/v1/feed").json()["results"][0]["like_count"] == 0
    fan_client.post(f"/api/v1/images/{image.pk}/like")
    tile = fan_client.get("/api/v1/feed").json()["results"][0]
    assert tile["like_count"] == 1 and tile["liked"] is True
    tile = owner_client.get("/api/v1/feed").json()["results"][0]
    assert tile["like_count"] == 1 and tile["liked"] is False, "liked is per viewer"


def test_style_listing_follows_edits_tags_and_unpublishing(api_client, artist):
    ink = make_style(artist, name="Ink", tags=("ink", "calm"))
    assert listed(api_client, "tags=ink") == [ink.pk]
    assert listed(api_client, "q=wash") == []
    styles.update_style(artist=artist, style_id=ink.pk, description="soft wash", tags="calm")
    assert listed(api_client, "tags=ink") == []
    assert listed(api_client, "q=wash") == [ink.pk]
    ink.status = StyleStatus.REJECTED  # as an operator does in the console
    ink.save(update_fields=["status"])
    assert listed(api_client, "q=wash") == []


def test_saves_of_a_style_in_training_do_not_bump(artist):
    listed = make_style(artist)
    training = make_style(artist, status=StyleStatus.TRAINING)
    before = ReadGeneration.objects.get(name="styles").generation
    training.lora_path = "x.safetensors"
    training.save(update_fields=["lora_path"])
    assert ReadGeneration.objects.get(name="styles").generation == before
    listed.save(update_fields=["description"])
    assert ReadGeneration.objects.get(name="styles").generation > before


def test_a_process_keeps_a_page_until_the_generation_moves(style, owner):
    image = make_image(owner, style)
    page = selectors.feed()
    assert selectors.feed() is page, "kept"
    selectors.PUBLIC_FEED.changed()
    assert selectors.feed() is not page and [i.pk for i in selectors.feed().items] == [image.pk]


def test_entries_expire_and_the_oldest_go_first():
    cache = readcache.ReadCache("test", seconds=0.0, entries=2)
    builds = []

    def build(key):
        builds.append(key)
        return key

    cache.get("a", lambda: build("a"))
    cache.get("a", lambda: build("a"))
    assert builds == ["a", "a"], "expired at once"
    cache.seconds = 60.0
    for key in ("a", "b", "a", "c", "a", "b"):
        cache.get(key, lambda key=key: build(key))
    assert builds == ["a", "a", "a", "b", "c", "b"], "b was the least recently used"
