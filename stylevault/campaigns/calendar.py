"""Seasons and commercial days (Korean and international) for briefs and today's ideas."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

# Lunar holidays fall on other solar dates each year: the first day of each, as announced.
SEOLLAL = {2025: (1, 29), 2026: (2, 17), 2027: (2, 7), 2028: (1, 27), 2029: (2, 13), 2030: (2, 3)}
CHUSEOK = {2025: (10, 6), 2026: (9, 25), 2027: (9, 15), 2028: (10, 3), 2029: (9, 22), 2030: (9, 12)}
FIXED = {
    "new_year": (1, 1),
    "valentine": (2, 14),
    "white_day": (3, 14),
    "children_day": (5, 5),
    "parents_day": (5, 8),
    "halloween": (10, 31),
    "pepero": (11, 11),
    "christmas": (12, 25),
}
# Words in a brief that name an occasion (checked in this order).
OCCASION_WORDS = {
    "holiday:christmas": ("christmas", "xmas", "크리스마스", "성탄"),
    "holiday:valentine": ("valentine", "발렌타인", "밸런타인"),
    "holiday:white_day": ("white day", "화이트데이"),
    "holiday:pepero": ("pepero", "빼빼로"),
    "holiday:chuseok": ("chuseok", "추석", "한가위"),
    "holiday:seollal": ("seollal", "lunar new year", "설날", "설 연휴"),
    "holiday:black_friday": ("black friday", "블랙프라이데이", "블프"),
    "holiday:halloween": ("halloween", "할로윈", "핼러윈"),
    "holiday:children_day": ("children's day", "어린이날"),
    "holiday:parents_day": ("parents' day", "parents day", "어버이날"),
    "opening": ("grand opening", "opening", "now open", "오픈", "개업", "개점"),
    "sale": ("sale", "discount", "% off", "deal", "할인", "세일", "특가"),
    "launch": ("new menu", "new ", "launch", "신메뉴", "신상", "출시", "새로운", "새 "),
    "event": ("event", "이벤트", "행사", "giveaway"),
}
SEASON_WORDS = {
    "spring": ("spring", "봄", "벚꽃"),
    "summer": ("summer", "여름", "빙수"),
    "autumn": ("autumn", "fall ", "가을", "단풍"),
    "winter": ("winter", "겨울", "눈 오는"),
}


def season_of(day: datetime.date) -> str:
    return {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring"}.get(
        day.month, "summer" if day.month <= 8 else "autumn"
    )


def black_friday(year: int) -> datetime.date:
    first = datetime.date(year, 11, 1)
    first_friday = first + datetime.timedelta(days=(4 - first.weekday()) % 7)
    return first_friday + datetime.timedelta(weeks=3)


def commercial_days(year: int) -> dict[str, datetime.date]:
    days = {name: datetime.date(year, m, d) for name, (m, d) in FIXED.items()}
    days["black_friday"] = black_friday(year)
    for name, table in (("seollal", SEOLLAL), ("chuseok", CHUSEOK)):
        if year in table:
            days[name] = datetime.date(year, *table[year])
    return days


@dataclass(frozen=True)
class Upcoming:
    holiday: str
    date: datetime.date
    days_away: int


def upcoming(day: datetime.date, *, within: int = 45) -> list[Upcoming]:
    """Commercial days from `day` to `within` days ahead, nearest first."""
    found = []
    for year in (day.year, day.year + 1):
        for name, date in commercial_days(year).items():
            away = (date - day).days
            if 0 <= away <= within:
                found.append(Upcoming(name, date, away))
    return sorted(found, key=lambda u: u.days_away)


def detect(text: str, words: dict[str, tuple[str, ...]]) -> str | None:
    folded = f" {text.casefold()} "
    return next((key for key, options in words.items() if any(w in folded for w in options)), None)
