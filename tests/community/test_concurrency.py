"""Likes from many threads at once, each with its own database connection: exactly one Like
row per user and a like_count equal to the rows, however the requests interleave."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from stylevault.community import services
from stylevault.community.models import Like
from tests.community.factories import make_image, make_style

pytestmark = pytest.mark.django_db(transaction=True)

USERS, REPEATS = 8, 3


def test_concurrent_likes_keep_the_count_exact(make_user):
    artist = make_user("painter", artist=True)
    image = make_image(make_user("owner"), make_style(artist))
    fans = [make_user(f"fan{n}") for n in range(USERS)]
    start = threading.Barrier(USERS * REPEATS)

    def like(fan) -> None:
        try:
            start.wait(timeout=30)
            services.like_image(user=fan, image_id=image.pk)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(USERS * REPEATS) as pool:
        list(pool.map(like, fans * REPEATS))  # re-raises any thread's error
    image.refresh_from_db()
    assert Like.objects.filter(image=image).count() == USERS == image.like_count

    def unlike(fan) -> None:
        try:
            services.unlike_image(user=fan, image_id=image.pk)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(USERS) as pool:
        list(pool.map(unlike, fans[: USERS // 2] * 2))
    image.refresh_from_db()
    assert Like.objects.filter(image=image).count() == USERS // 2 == image.like_count
