"""The public feed, the following feed and artist pages: newest first, keyset pagination that
never repeats or skips an image while new ones arrive, and private images nowhere."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from stylevault.generation.models import Visibility
from tests.community.factories import make_image, make_style
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def walk(client, url: str, between_pages=None) -> list[int]:
    """Every id of a paginated list, following `next`; calls between_pages() after each page."""
    seen: list[int] = []
    while url:
        response = client.get(url)
        seen += ids(response)
        url = response.json()["next"]
        if between_pages:
            between_pages()
    return seen


def test_feed_is_newest_first_with_what_a_tile_needs(api_client, style, owner):
    now = timezone.now()
    old = make_image(owner, style, published_at=now - timedelta(hours=2), description="old")
    new = make_image(owner, style, published_at=now - timedelta(hours=1), description="new")
    response = api_client.get("/api/v1/feed")
    assert ids(response) == [new.pk, old.pk]
    item = response.json()["results"][0]
    assert item["url"] == f"/api/v1/images/{new.pk}/file"
    assert item["style"] == {"id": style.pk, "name": style.name}
    assert item["artist"] == {"id": style.artist.pk, "username": "painter"}
    assert item["owner"] == {"id": owner.pk, "username": "owner"}
    assert item["description"] == "new" and item["liked"] is False
    assert item["like_count"] == item["comment_count"] == 0
    assert response.json()["next"] is None


def test_paging_never_repeats_or_skips_while_images_arrive(api_client, style, owner):
    base = timezone.now() - timedelta(days=1)
    # Ties on published_at on purpose: the id breaks them, on both sides of page borders.
    original = [
        make_image(owner, style, published_at=base + timedelta(seconds=i // 3)) for i in range(25)
    ]
    expected = [
        image.pk for image in sorted(original, key=lambda i: (i.published_at, i.pk), reverse=True)
    ]

    def more_arrive():
        make_image(owner, style)  # newer than everything: belongs before the first page
        make_image(owner, style, published_at=original[0].published_at)  # a tie, higher id

    seen = walk(api_client, "/api/v1/feed?limit=4", between_pages=more_arrive)
    newcomers = set(seen) - set(expected)
    originals_seen = [pk for pk in seen if pk not in newcomers]
    assert originals_seen == expected  # each original once, in order
    assert len(seen) == len(set(seen))  # nothing twice


def test_private_images_are_in_no_feed_and_no_artist_page(api_client, token_client, style, owner):
    public = make_image(owner, style)
    private = make_image(owner, style, public=False)
    fan = token_client(owner)  # even their owner does not see private images in feeds
    fan.post(f"/api/v1/artists/{style.artist.pk}/follow")
    for client in (api_client, fan):
        assert ids(client.get("/api/v1/feed")) == [public.pk]
        assert ids(client.get(f"/api/v1/feed?artist={style.artist.pk}")) == [public.pk]
        profile = client.get(f"/api/v1/artists/{style.artist.pk}").json()
        assert [i["id"] for i in profile["images"]] == [public.pk]
    assert ids(fan.get("/api/v1/feed?following=1")) == [public.pk]
    for path in ("/en/feed/", f"/en/artists/{style.artist.pk}/"):
        html = api_client.get(path).content.decode()
        assert f'data-image="{public.pk}"' in html and f'data-image="{private.pk}"' not in html
    assert private.pk not in walk(api_client, "/api/v1/feed?limit=1")


def test_an_image_made_private_leaves_the_feed(api_client, style, owner):
    image = make_image(owner, style)
    image.visibility = Visibility.PRIVATE
    image.save(update_fields=["visibility"])
    assert ids(api_client.get("/api/v1/feed")) == []


def test_following_feed_shows_followed_artists_only(token_client, make_user, style, owner):
    other_artist = make_user("sculptor", artist=True)
    other_style = make_style(other_artist, name="Clay")
    followed = make_image(owner, style)
    make_image(owner, other_style)
    reader = make_user("reader")
    client = token_client(reader)
    assert ids(client.get("/api/v1/feed?following=1")) == []
    assert client.post(f"/api/v1/artists/{style.artist.pk}/follow").status_code == 200
    assert ids(client.get("/api/v1/feed?following=1")) == [followed.pk]
    assert len(ids(client.get("/api/v1/feed"))) == 2


def test_feed_errors(api_client, style, owner):
    assert_error(api_client.get("/api/v1/feed?following=1"), 401, "UNAUTHORIZED")
    assert_error(api_client.get("/api/v1/feed?cursor=nonsense"), 400, "VALIDATION_ERROR")
    assert_error(api_client.get("/api/v1/feed?cursor=MjAyNHwx"), 400, "VALIDATION_ERROR")
    assert_error(api_client.get("/api/v1/feed?limit=0"), 400, "VALIDATION_ERROR")
    assert_error(api_client.get("/api/v1/feed?limit=101"), 400, "VALIDATION_ERROR")
    assert_error(api_client.get(f"/api/v1/feed?artist={owner.pk}"), 404, "NOT_FOUND")
    assert_error(api_client.get(f"/api/v1/feed?artist={2**70}"), 400, "VALIDATION_ERROR")


def test_artist_profile(api_client, token_client, make_user, style, owner):
    make_style(style.artist, name="Draft", status="training")
    images = [make_image(owner, style) for _ in range(3)]
    follower = make_user("reader")
    token_client(follower).post(f"/api/v1/artists/{style.artist.pk}/follow")
    response = token_client(follower).get(f"/api/v1/artists/{style.artist.pk}?limit=1")
    body = response.json()
    assert body["username"] == "painter" and body["follower_count"] == 1
    assert body["following"] is True
    assert body["style_count"] == 1 and [s["name"] for s in body["styles"]] == ["Ink wash"]
    assert body["styles"][0]["tags"] == ["ink"]
    assert [i["id"] for i in body["images"]] == [i.pk for i in reversed(images)]
    assert api_client.get(f"/api/v1/artists/{style.artist.pk}").json()["following"] is False
    assert body["images_next"] is None
    assert_error(api_client.get(f"/api/v1/artists/{owner.pk}"), 404, "NOT_FOUND")
    assert_error(api_client.get("/api/v1/artists/999999"), 404, "NOT_FOUND")


def test_artist_profile_links_to_the_rest_of_the_images(api_client, style, owner):
    images = [make_image(owner, style) for _ in range(22)]
    body = api_client.get(f"/api/v1/artists/{style.artist.pk}").json()
    assert len(body["images"]) == 20 and body["images_next"]
    rest = api_client.get(body["images_next"])
    assert ids(rest) == [images[1].pk, images[0].pk]


def test_a_feed_page_costs_the_same_queries_however_many_tiles(api_client, client, style, owner):
    def queries(path: str, http) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert http.get(path).status_code == 200
        return len(captured)

    make_image(owner, style)
    few = (queries("/api/v1/feed", api_client), queries("/en/feed/", client))
    for _ in range(10):
        make_image(owner, style)
    assert (queries("/api/v1/feed", api_client), queries("/en/feed/", client)) == few
