"""Community pages in English and Korean: the feed with its htmx infinite scroll, the image
page (likes, comments, the way to the style), artist pages and the artists I follow."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from stylevault.community.models import Comment, Follow
from tests.community.factories import make_image

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_feed_page_scrolls_forever(client, style, owner, lang):
    images = [make_image(owner, style) for _ in range(23)]
    page = client.get(f"/{lang}/feed/")
    html = page.content.decode()
    assert page.status_code == 200 and f'lang="{lang}"' in html
    assert html.count('data-test="feed-item"') == 20
    assert "<script>" not in html  # the CSP allows no inline script
    more = re.search(r'hx-get="([^"]+)" hx-trigger="revealed"', html).group(1).replace("&amp;", "&")
    rest = client.get(more, **HTMX)
    tiles = rest.content.decode()
    assert "<html" not in tiles and tiles.count('data-test="feed-item"') == 3
    assert f'data-image="{images[0].pk}"' in tiles and 'hx-trigger="revealed"' not in tiles
    assert "HX-Request" in rest["Vary"]


def test_following_tab_needs_a_login(client):
    response = client.get("/en/feed/?following=1")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_image_page(client, style, owner):
    image = make_image(owner, style, description="Sea <b>at</b> dawn")
    html = client.get(f"/en/images/{image.pk}/").content.decode()
    assert f'href="/en/styles/{style.pk}/" data-test="generate-in-style"' in html
    assert "Sea &lt;b&gt;at&lt;/b&gt; dawn" in html
    assert f'src="/api/v1/images/{image.pk}/file"' in html
    assert "Log in to comment" in html
    ko = client.get(f"/ko/images/{image.pk}/").content.decode()
    assert f'href="/ko/styles/{style.pk}/"' in ko
    assert client.get("/en/images/999999/").status_code == 404


def test_like_button_with_htmx_and_without(style, owner, fan):
    image = make_image(owner, style)
    client = logged_in(fan)
    liked = client.post(f"/en/images/{image.pk}/like/", {"action": "like"}, **HTMX)
    fragment = liked.content.decode()
    assert 'aria-pressed="true"' in fragment and 'data-test="like-count">1<' in fragment
    back = client.post(f"/en/images/{image.pk}/like/", {"action": "unlike"})
    assert back.status_code == 302
    image.refresh_from_db()
    assert image.like_count == 0


def test_comment_form_and_delete(style, owner, fan):
    image = make_image(owner, style)
    client = logged_in(fan)
    empty = client.post(f"/en/images/{image.pk}/comments/", {"body": "   "})
    assert empty.status_code == 400 and 'class="error"' in empty.content.decode()
    assert client.post(f"/en/images/{image.pk}/comments/", {"body": "nice"}).status_code == 302
    comment = Comment.objects.get()
    html = client.get(f"/en/images/{image.pk}/").content.decode()
    assert 'data-test="delete-comment"' in html and "1 comment" in html
    stranger_view = logged_in(owner).get(f"/en/images/{image.pk}/").content.decode()
    assert 'data-test="delete-comment"' in stranger_view  # the image's owner may delete too
    deleted = client.post(f"/en/comments/{comment.pk}/delete/")
    assert deleted.status_code == 302 and deleted["Location"].endswith(f"/images/{image.pk}/")
    assert not Comment.objects.exists()


def test_artist_page_and_follow_button(client, style, owner, fan):
    make_image(owner, style)
    html = client.get(f"/ko/artists/{style.artist.pk}/").content.decode()
    assert 'data-test="artist-style"' in html and 'data-test="follow-button"' not in html
    reader = logged_in(fan)
    page = reader.get(f"/en/artists/{style.artist.pk}/").content.decode()
    assert 'data-test="follow-button">Follow<' in page and "0 followers" in page
    fragment = reader.post(
        f"/en/artists/{style.artist.pk}/follow/", {"action": "follow"}, **HTMX
    ).content.decode()
    assert 'data-test="follow-button">Unfollow<' in fragment and "1 follower<" in fragment
    assert Follow.objects.filter(follower=fan).exists()
    listed = reader.get("/en/following/").content.decode()
    assert 'data-test="followed-artist"' in listed and style.artist.username in listed
    assert client.get(f"/en/artists/{owner.pk}/").status_code == 404


def test_header_links_and_polled_badge(style, owner, fan):
    html = logged_in(fan).get("/en/feed/").content.decode()
    assert 'data-test="nav-feed"' in html
    assert 'hx-get="/en/notifications/badge/" hx-trigger="load, every 20s"' in html
