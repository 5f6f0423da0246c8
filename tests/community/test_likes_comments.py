"""Likes (one per user, idempotent, exact counts) and comments (limits, plain text, who may
delete); a private image's endpoints answer NOT_FOUND to everyone but its owner."""

from __future__ import annotations

import pytest

from stylevault.community.models import Comment, Like
from tests.community.factories import make_image
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_like_is_once_per_user_and_idempotent(token_client, style, owner, fan, make_user):
    image = make_image(owner, style)
    client = token_client(fan)
    url = f"/api/v1/images/{image.pk}/like"
    assert client.post(url).json() == {"liked": True, "like_count": 1}
    assert client.post(url).json() == {"liked": True, "like_count": 1}
    assert token_client(make_user("second")).post(url).json()["like_count"] == 2
    feed = client.get("/api/v1/feed").json()["results"][0]
    assert feed["liked"] is True and feed["like_count"] == 2
    assert client.delete(url).json() == {"liked": False, "like_count": 1}
    assert client.delete(url).json() == {"liked": False, "like_count": 1}
    assert Like.objects.filter(image=image).count() == 1
    image.refresh_from_db()
    assert image.like_count == 1


def test_private_image_endpoints_are_not_found_to_others(
    token_client, api_client, style, owner, fan
):
    private = make_image(owner, style, public=False)
    other = token_client(fan)
    for method, path, body in (
        ("post", f"/api/v1/images/{private.pk}/like", None),
        ("delete", f"/api/v1/images/{private.pk}/like", None),
        ("get", f"/api/v1/images/{private.pk}/comments", None),
        ("post", f"/api/v1/images/{private.pk}/comments", {"body": "hello"}),
    ):
        assert_error(getattr(other, method)(path, body, format="json"), 404, "NOT_FOUND")
    assert_error(api_client.get(f"/api/v1/images/{private.pk}/comments"), 404, "NOT_FOUND")
    assert api_client.get(f"/en/images/{private.pk}/").status_code == 404
    mine = token_client(owner)  # the owner still sees and may annotate their own image
    assert mine.post(f"/api/v1/images/{private.pk}/like").status_code == 200
    assert (
        mine.post(
            f"/api/v1/images/{private.pk}/comments", {"body": "note"}, format="json"
        ).status_code
        == 201
    )
    assert_error(other.post("/api/v1/images/999999/like"), 404, "NOT_FOUND")


def test_writing_needs_an_account(api_client, style, owner):
    image = make_image(owner, style)
    assert_error(api_client.post(f"/api/v1/images/{image.pk}/like"), 401, "UNAUTHORIZED")
    assert_error(
        api_client.post(f"/api/v1/images/{image.pk}/comments", {"body": "hi"}, format="json"),
        401,
        "UNAUTHORIZED",
    )
    assert api_client.get(f"/api/v1/images/{image.pk}/comments").status_code == 200


def test_comments_thread(token_client, api_client, style, owner, fan):
    image = make_image(owner, style)
    client = token_client(fan)
    url = f"/api/v1/images/{image.pk}/comments"
    first = client.post(url, {"body": "  <b>lovely</b> & bold  "}, format="json")
    assert first.status_code == 201
    created = first.json()
    assert created["body"] == "<b>lovely</b> & bold"  # stored as typed, trimmed
    assert created["author"] == {"id": fan.pk, "username": "fan"} and created["can_delete"]
    for n in range(3):
        client.post(url, {"body": f"more {n}"}, format="json")
    page = api_client.get(f"{url}?limit=2").json()
    assert [c["body"] for c in page["results"]] == ["<b>lovely</b> & bold", "more 0"]
    assert page["results"][0]["can_delete"] is False  # anonymous
    rest = api_client.get(page["next"]).json()
    assert [c["body"] for c in rest["results"]] == ["more 1", "more 2"] and rest["next"] is None
    image.refresh_from_db()
    assert image.comment_count == 4


def test_comment_limits(token_client, style, owner, fan):
    image = make_image(owner, style)
    client = token_client(fan)
    url = f"/api/v1/images/{image.pk}/comments"
    assert client.post(url, {"body": "x" * 1000}, format="json").status_code == 201
    for bad in ({"body": "x" * 1001}, {"body": "   "}, {"body": ""}, {}, {"body": "a\x00b"}):
        assert_error(client.post(url, bad, format="json"), 400, "VALIDATION_ERROR")
    assert Comment.objects.count() == 1


def test_comment_bodies_are_escaped_on_the_page(client, style, owner, fan):
    image = make_image(owner, style)
    client.force_login(fan)
    response = client.post(
        f"/en/images/{image.pk}/comments/", {"body": "<script>alert(1)</script>"}
    )
    assert response.status_code == 302
    html = client.get(f"/en/images/{image.pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html


@pytest.mark.parametrize(
    ("who", "allowed"),
    [("author", True), ("image_owner", True), ("operator", True), ("stranger", False)],
)
def test_who_may_delete_a_comment(token_client, make_user, style, owner, fan, who, allowed):
    image = make_image(owner, style)
    token_client(fan).post(f"/api/v1/images/{image.pk}/comments", {"body": "hi"}, format="json")
    comment = Comment.objects.get()
    actor = {
        "author": lambda: fan,
        "image_owner": lambda: owner,
        "operator": lambda: make_user("moderator", operator=True),
        "stranger": lambda: make_user("stranger"),
    }[who]()
    response = token_client(actor).delete(f"/api/v1/comments/{comment.pk}")
    image.refresh_from_db()
    if allowed:
        assert response.status_code == 204
        assert not Comment.objects.exists() and image.comment_count == 0
        assert_error(token_client(actor).delete(f"/api/v1/comments/{comment.pk}"), 404, "NOT_FOUND")
    else:
        assert_error(response, 403, "FORBIDDEN")
        assert Comment.objects.exists() and image.comment_count == 1


def test_comments_of_a_private_image_are_hidden(token_client, style, owner, fan):
    image = make_image(owner, style, public=False)
    token_client(owner).post(f"/api/v1/images/{image.pk}/comments", {"body": "me"}, format="json")
    comment = Comment.objects.get()
    assert_error(token_client(fan).delete(f"/api/v1/comments/{comment.pk}"), 404, "NOT_FOUND")
