"""`stylevault demo` publishes three demo styles of clearly different looks, and the home page
shows their samples and the latest public images."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from stylevault.styles import demo
from stylevault.styles.models import Style, StyleStatus
from tests.community.factories import make_image

pytestmark = pytest.mark.django_db


def test_demo_publishes_three_distinct_styles_and_home_shows_them(fast_engine, client) -> None:
    call_command("demo")
    styles = list(Style.objects.filter(artist__username=demo.ARTIST).order_by("pk"))
    assert [style.name for style in styles] == [
        about["name"] for about in demo.DEMO_STYLES.values()
    ]
    for style in styles:
        # Each set of works passes consistency and is not taken for a copy of another demo style.
        assert style.status == StyleStatus.PUBLISHED, style.qa
        assert style.samples.count() == len(
            fast_engine.STYLEVAULT_STYLE_CHECKS["reference_prompts"]
        )
    call_command("demo")  # idempotent
    assert Style.objects.filter(artist__username=demo.ARTIST).count() == 3

    buyer = styles[0].artist.__class__.objects.get(username=demo.BUYER)
    image = make_image(buyer, styles[1], description="a pink moon on the left")
    page = client.get("/en/").content.decode()
    for style in styles:
        assert style.name in page
        assert f"/api/v1/styles/{style.pk}/samples/0" in page
    assert f'data-image="{image.pk}"' in page
    assert "a pink moon on the left" in page


def test_home_without_styles_or_images_is_the_plain_pitch(client) -> None:
    page = client.get("/en/").content.decode()
    assert "home-styles" not in page and "home-latest" not in page
    assert "Create an account" in page or "Create a free account" in page
