"""Rows for community tests made directly with the ORM: published styles and delivered images,
without training or rendering anything."""

from __future__ import annotations

import hashlib
import itertools
from datetime import datetime

from django.utils import timezone

from stylevault.generation.models import Generation, Image, Visibility
from stylevault.styles.models import Style, StyleStatus, Tag
from stylevault.styles.search import refresh_search_text

_serial = itertools.count(1)


def make_style(
    artist,
    *,
    name: str = "Ink wash",
    description: str = "",
    tags: tuple[str, ...] = (),
    status: str = StyleStatus.PUBLISHED,
    price: int = 5,
) -> Style:
    published = status == StyleStatus.PUBLISHED
    style = Style.objects.create(
        artist=artist,
        name=name,
        description=description,
        price_per_image=price,
        status=status,
        published_at=timezone.now() if published else None,
    )
    style.tags.set([Tag.objects.get_or_create(name=tag)[0] for tag in tags])
    refresh_search_text(style)
    return style


def make_image(
    owner,
    style: Style,
    *,
    public: bool = True,
    published_at: datetime | None = None,
    description: str = "",
) -> Image:
    """A delivered image in `style`; public ones are made public at `published_at` (now)."""
    n = next(_serial)
    generation = Generation.objects.create(
        owner=owner,
        status="succeeded",
        prompts=["a lighthouse"],
        seed=n,
        steps=4,
        cost=style.price_per_image,
        render_key=f"{n:064x}",
        request_hash=f"{n:064x}",
    )
    return Image.objects.create(
        generation=generation,
        owner=owner,
        style=style,
        artist=style.artist,
        position=0,
        prompt="a lighthouse",
        seed=n,
        width=64,
        height=64,
        path="x.png",
        mime_type="image/png",
        sha256=hashlib.sha256(str(n).encode()).hexdigest(),
        mark=n,
        visibility=Visibility.PUBLIC if public else Visibility.PRIVATE,
        description=description,
        published_at=(published_at or timezone.now()) if public else None,
    )
