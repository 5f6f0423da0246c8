"""Generation fixtures: a published style trained for real on the tiny model, a buyer with credits."""

from __future__ import annotations

import pytest

from stylevault.engine.demo_art import procedural_artist
from stylevault.ledger import services as ledger
from stylevault.styles import services as styles
from stylevault.styles.models import StyleStatus
from tests.conftest import png_upload, run_jobs


def train_style(
    artist, *, style_seed: int = 1, price: int = 5, nsfw: bool = False, name: str = "Ink"
):
    paint = procedural_artist(style_seed)
    style = styles.create_style(
        artist=artist,
        name=name,
        tags="ink",
        price_per_image=price,
        nsfw_allowed=nsfw,
        images=[png_upload(paint(i), f"w{i}.png") for i in range(10)],
    )
    run_jobs("training")
    style.refresh_from_db()
    assert style.status == StyleStatus.PUBLISHED, style.qa
    return style


@pytest.fixture
def published_style(fast_engine, make_artist):
    return train_style(make_artist("painter"))


@pytest.fixture
def buyer(make_user):
    user = make_user("buyer")
    ledger.grant_credits(user=user, amount=100, reason="test credits")
    return user
