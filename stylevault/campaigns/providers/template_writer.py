"""The built-in copy writer: phrase tables in Korean and English by business type, season,
occasion and tone, with several variants per request. Its phrases hold no digits: the only
numbers in its copy are the brief's own sentences that carry them."""

from __future__ import annotations

import re

from stylevault.campaigns.korean import particle
from stylevault.campaigns.providers.copy import LIMITS, MAX_HASHTAGS, Copy, CopyRequest

NEW_THING = {
    "ko": {
        "cafe": "신메뉴",
        "restaurant": "신메뉴",
        "bakery": "신제품",
        "salon": "새 스타일",
        "retail": "신상품",
        "fitness": "새 프로그램",
        "clinic": "새 프로그램",
        "academy": "새 강좌",
        "other": "새 소식",
    },
    "en": {
        "cafe": "new menu",
        "restaurant": "new menu",
        "bakery": "new bakes",
        "salon": "new looks",
        "retail": "new arrivals",
        "fitness": "new classes",
        "clinic": "new care programme",
        "academy": "new courses",
        "other": "latest news",
    },
}
SUBJECT = {
    "ko": {
        "cafe": "카페",
        "restaurant": "맛집",
        "bakery": "베이커리",
        "salon": "헤어살롱",
        "retail": "쇼핑",
        "fitness": "운동",
        "clinic": "건강",
        "academy": "공부",
        "other": "동네가게",
    },
    "en": {
        "cafe": "cafe",
        "restaurant": "foodie",
        "bakery": "bakery",
        "salon": "hairsalon",
        "retail": "shopping",
        "fitness": "fitness",
        "clinic": "wellness",
        "academy": "learning",
        "other": "shoplocal",
    },
}
SCENE = {
    "cafe": "a cozy cafe table with a cup of coffee and pastries",
    "restaurant": "a beautifully plated dish on a restaurant table",
    "bakery": "fresh bread and pastries on a wooden counter",
    "salon": "a bright modern hair salon interior",
    "retail": "a stylish shop display of products",
    "fitness": "a bright gym with workout equipment",
    "clinic": "a clean and calm clinic reception",
    "academy": "a bright classroom with books and notebooks",
    "other": "a welcoming small shop front",
}
SEASON = {
    "ko": {"spring": "봄", "summer": "여름", "autumn": "가을", "winter": "겨울"},
    "en": {"spring": "spring", "summer": "summer", "autumn": "autumn", "winter": "winter"},
}
SEASON_MOOD = {
    "spring": "cherry blossoms, soft pastel light",
    "summer": "bright sunlight, fresh cool colours",
    "autumn": "warm autumn leaves, golden light",
    "winter": "cozy winter atmosphere, soft snow, warm light",
}
HOLIDAY = {
    "ko": {
        "christmas": "크리스마스",
        "valentine": "밸런타인데이",
        "white_day": "화이트데이",
        "pepero": "빼빼로데이",
        "chuseok": "추석",
        "seollal": "설날",
        "black_friday": "블랙프라이데이",
        "halloween": "핼러윈",
        "children_day": "어린이날",
        "parents_day": "어버이날",
        "new_year": "새해",
    },
    "en": {
        "christmas": "Christmas",
        "valentine": "Valentine's Day",
        "white_day": "White Day",
        "pepero": "Pepero Day",
        "chuseok": "Chuseok",
        "seollal": "Lunar New Year",
        "black_friday": "Black Friday",
        "halloween": "Halloween",
        "children_day": "Children's Day",
        "parents_day": "Parents' Day",
        "new_year": "the New Year",
    },
}

# Per language and occasion: headlines, then one sentence saying what is on. Placeholders:
# {brand} {season} {new} {holiday}, and Korean particles as {brand_i} (이/가), {new_eul}
# (을/를), {brand_gwa} (과/와), {holiday_eul}.
HEADLINES = {
    "ko": {
        "launch": ["{season}을 담은 {new}", "{brand} {new} 출시", "새롭게 만나는 {season} {new}"],
        "sale": [
            "{brand} {season} 특별 할인",
            "놓치면 아쉬운 {season} 혜택",
            "지금이 기회, {brand} 할인",
        ],
        "opening": ["{brand}, 드디어 오픈", "새로 문을 연 {brand}", "{brand}의 첫인사"],
        "event": [
            "{brand} {season} 이벤트",
            "함께해요, {brand} 이벤트",
            "{season}에 만나는 특별한 이벤트",
        ],
        "holiday": [
            "{holiday}엔 {brand}",
            "{brand_gwa} 함께하는 {holiday}",
            "{holiday}, 특별한 선물",
        ],
        "general": ["{season}에도 {brand}", "오늘은 {brand}에서", "{brand_i} 기다려요"],
    },
    "en": {
        "launch": ["New for {season} at {brand}", "Meet our {season} {new}", "Just in: {new}"],
        "sale": [
            "{Season} savings at {brand}",
            "Treat yourself for less",
            "Your {season} deal is here",
        ],
        "opening": ["{brand} is now open", "Hello, neighbour: we're open", "Doors open at {brand}"],
        "event": [
            "Something special at {brand}",
            "Join the fun at {brand}",
            "{Season} event at {brand}",
        ],
        "holiday": [
            "Happy {holiday} from {brand}",
            "Make {holiday} sweeter",
            "Celebrate {holiday} with us",
        ],
        "general": ["{Season} at {brand}", "Your new favourite spot", "Come see us this {season}"],
    },
}
OCCASION_LINE = {
    "ko": {
        "launch": "{season}에 어울리는 {new_eul} 준비했어요.",
        "sale": "준비한 할인 혜택을 만나 보세요.",
        "opening": "{brand_i} 새롭게 문을 열었어요.",
        "event": "{brand}에서 특별한 이벤트를 준비했어요.",
        "holiday": "{holiday_eul} 맞아 {brand}에서 마음을 전해 보세요.",
        "general": "{brand}에서 {season}의 즐거움을 만나 보세요.",
    },
    "en": {
        "launch": "Our {new} for {season} is here.",
        "sale": "Special savings are waiting for you at {brand}.",
        "opening": "{brand} has opened its doors.",
        "event": "Join us for something special at {brand}.",
        "holiday": "Celebrate {holiday} with {brand}.",
        "general": "Enjoy the best of {season} at {brand}.",
    },
}
TONE_LINE = {
    "ko": {
        "friendly": ["편하게 들러 주세요. 반갑게 맞이할게요.", "언제든 반갑게 기다리고 있어요."],
        "premium": ["한 끗 다른 정성으로 준비했습니다.", "특별한 순간을 위한 선택입니다."],
        "playful": ["고민은 그만, 지금 바로 만나러 오세요!", "오늘 안 오면 섭섭해요!"],
        "calm": ["천천히, 나를 위한 시간을 누려 보세요.", "조용히 쉬어 가는 시간을 선물하세요."],
    },
    "en": {
        "friendly": ["Drop by anytime, we'd love to see you.", "We can't wait to welcome you."],
        "premium": [
            "Crafted with care, down to the last detail.",
            "A refined choice for special moments.",
        ],
        "playful": ["Go on, you deserve a treat!", "Why wait? Your new favourite thing is here!"],
        "calm": ["Slow down and take a moment for yourself.", "A quiet moment, just for you."],
    },
}
CTA = {
    "ko": {
        "visit": ["지금 방문하세요", "오늘 들러 보세요"],
        "book": ["지금 예약하세요", "상담 예약하기"],
        "shop": ["지금 만나 보세요", "매장에서 만나요"],
    },
    "en": {
        "visit": ["Visit us today", "Stop by today"],
        "book": ["Book now", "Book your visit"],
        "shop": ["Shop now", "See you in store"],
    },
}
CTA_KIND = {
    "cafe": "visit",
    "restaurant": "visit",
    "bakery": "visit",
    "salon": "book",
    "fitness": "book",
    "clinic": "book",
    "academy": "book",
    "retail": "shop",
    "other": "shop",
}
TAG_WORD = {
    "ko": {
        "launch": "신메뉴",
        "sale": "할인",
        "opening": "오픈",
        "event": "이벤트",
        "general": "추천",
    },
    "en": {
        "launch": "new",
        "sale": "sale",
        "opening": "grandopening",
        "event": "event",
        "general": "shoplocal",
    },
}


def _fact_sentences(brief: str) -> list[str]:
    """The brief's clauses that carry numbers (prices, dates, shares): quoted, never made up."""
    # Split at punctuation, but not inside a number such as 2,500 or 3.5.
    clauses = [c.strip(" -·") for c in re.split(r"[!?\n;]+|(?<!\d)[.,]|[.,](?!\d)", brief)]
    return [c for c in clauses if re.search(r"\d", c)][:2]


def _tag(text: str) -> str:
    return "#" + re.sub(r"[^\w]", "", text)[: LIMITS["hashtag"] - 1]


def _pick(options: list[str], variant: int) -> str:
    return options[variant % len(options)]


def _fit(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",.") + "…"


class TemplateWriter:
    name = "template"

    def write(self, request: CopyRequest) -> Copy:
        lang = request.language if request.language in HEADLINES else "en"
        kind = request.business_type if request.business_type in SCENE else "other"
        occasion = request.occasion if request.occasion in HEADLINES[lang] else "general"
        holiday_key = ""
        if request.occasion.startswith("holiday:"):
            holiday_key = request.occasion.split(":", 1)[1]
            occasion = "holiday" if holiday_key in HOLIDAY[lang] else "general"
        season = SEASON[lang].get(request.season, SEASON[lang]["spring"])
        new = NEW_THING[lang][kind]
        holiday = HOLIDAY[lang].get(holiday_key, "")
        words = {
            "brand": request.brand,
            "season": season,
            "Season": season[:1].upper() + season[1:],
            "new": new,
            "holiday": holiday,
            "brand_i": particle(request.brand, "이"),
            "brand_gwa": particle(request.brand, "과"),
            "new_eul": particle(new, "을"),
            "holiday_eul": particle(holiday, "을"),
        }
        variant = request.variant
        headline = _pick(HEADLINES[lang][occasion], variant).format(**words)
        if request.shorter:
            headline = min(HEADLINES[lang][occasion], key=len).format(**words)
        tone = request.tone if request.tone in TONE_LINE[lang] else "friendly"
        sentences = [OCCASION_LINE[lang][occasion].format(**words), *_fact_sentences(request.brief)]
        if not request.shorter:
            sentences.append(_pick(TONE_LINE[lang][tone], variant))
        else:
            sentences = sentences[1:] or sentences[:1]
        body = _fit(" ".join(s if s[-1:] in ".!?" else s + "." for s in sentences), LIMITS["body"])
        cta = _pick(CTA[lang][CTA_KIND[kind]], variant)
        tags = [
            _tag(request.brand),
            _tag(SUBJECT[lang][kind]),
            _tag(season + TAG_WORD[lang].get(occasion, "")),
        ]
        if holiday:
            tags.append(_tag(holiday))
        tags = [t for i, t in enumerate(tags) if len(t) > 1 and t not in tags[:i]][:MAX_HASHTAGS]
        image_prompt = (
            f"{SCENE[kind]}, {SEASON_MOOD.get(request.season, SEASON_MOOD['spring'])}, "
            "advertising photograph, clean composition, empty space for a headline"
        )
        return Copy(
            headline=_fit(headline, LIMITS["headline"]),
            body=body,
            cta=cta,
            hashtags=tags,
            image_prompt=image_prompt,
        )
