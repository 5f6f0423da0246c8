"""Reads of the campaign studio. Every lookup is by owner: someone else's row is "not found"."""

from __future__ import annotations

import datetime

from django.db.models import QuerySet
from django.utils import timezone

from stylevault.campaigns import calendar
from stylevault.campaigns.models import Brand, ChatSession, Draft


def brands_of(owner) -> QuerySet[Brand]:
    return Brand.objects.filter(owner=owner).select_related("default_style")


def brand_for(owner, brand_id: int) -> Brand | None:
    return brands_of(owner).filter(pk=brand_id).first()


def sessions_of(owner) -> QuerySet[ChatSession]:
    return ChatSession.objects.filter(owner=owner).select_related("brand")


def session_for(owner, session_id: int) -> ChatSession | None:
    return sessions_of(owner).filter(pk=session_id).first()


def drafts_of(owner) -> QuerySet[Draft]:
    return Draft.objects.filter(owner=owner).select_related("generation", "style", "brand")


def draft_for(owner, draft_id: int) -> Draft | None:
    return drafts_of(owner).filter(pk=draft_id).first()


def latest_draft(session: ChatSession) -> Draft | None:
    return session.drafts.exclude(status="failed").select_related("generation").first()


def source_image(draft: Draft):
    """The delivered (signed) generated image an ad is made from, or None before delivery."""
    if draft.generation_id is None:
        return None
    return draft.generation.images.select_related("artist", "style").order_by("position").first()


IDEAS = {
    "ko": {
        "holiday": "{holiday} 맞이 {brand} 특별 프로모션",
        "season": "{season} 분위기의 {brand} 추천 메뉴 소개",
        "launch": "{brand} {season} 신메뉴 출시 소식",
        "event": "{brand} 단골 고객 감사 이벤트",
    },
    "en": {
        "holiday": "{holiday} promotion at {brand}",
        "season": "A {season} favourite at {brand}",
        "launch": "New for {season} at {brand}",
        "event": "A thank-you event for regulars at {brand}",
    },
}


def recommendations(brand: Brand, today: datetime.date | None = None) -> list[dict]:
    """Three ideas for today: upcoming commercial days, the season, and what the brand has not
    run lately (occasions of its last drafts are skipped)."""
    from stylevault.campaigns.providers.template_writer import HOLIDAY, SEASON

    today = today or timezone.localdate()
    lang = brand.language if brand.language in IDEAS else "en"
    recent = {
        calendar.detect(brief, calendar.OCCASION_WORDS)
        for brief in Draft.objects.filter(brand=brand).values_list("brief", flat=True)[:20]
    }
    season = SEASON[lang][calendar.season_of(today)]
    ideas = []
    for day in calendar.upcoming(today):
        if f"holiday:{day.holiday}" in recent or len(ideas) >= 2:
            continue
        name = HOLIDAY[lang][day.holiday]
        ideas.append(
            {
                "key": day.holiday,
                "title": name,
                "days_away": day.days_away,
                "brief": IDEAS[lang]["holiday"].format(holiday=name, brand=brand.name),
            }
        )
    # Kinds the brand has not run lately first; the rest fill up to three.
    kinds = sorted(("launch", "season", "event"), key=lambda k: k in recent)
    for key in kinds[: 3 - len(ideas)]:
        text = IDEAS[lang][key].format(season=season, brand=brand.name)
        ideas.append({"key": key, "title": text, "days_away": None, "brief": text})
    return ideas
