"""Understanding one chat message: the promotion, the aspect ratio and the refinements
("shorter", "more playful", "in English", "make it 9:16", "another picture"). Pure text rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

AD_RATIOS = ("1:1", "4:5", "4:3", "3:4", "16:9", "9:16")
_RATIO = re.compile(r"(?<![\d:])(1|4|3|16|9)\s*[:x×]\s*(1|5|3|4|9|16)(?![\d:])")
RATIO_WORDS = {
    "9:16": ("story", "stories", "reels", "shorts", "스토리", "릴스", "쇼츠"),
    "1:1": ("square", "정사각"),
    "16:9": ("landscape", "banner", "가로형", "배너"),
    "4:5": ("portrait", "세로형"),
}
REFINEMENTS = {
    "shorter": ("shorter", "make it short", "짧게", "짧은", "간단히", "간단하게", "줄여"),
    "tone:playful": ("playful", "more fun", "funnier", "재밌게", "재미있게", "발랄", "유쾌"),
    "tone:premium": ("premium", "elegant", "luxur", "고급", "세련"),
    "tone:calm": ("calmer", "calm", "차분"),
    "tone:friendly": ("friendlier", "friendly", "친근", "다정"),
    "language:en": ("in english", "english", "영어로", "영문"),
    "language:ko": ("in korean", "korean", "한국어로", "한글로"),
    "picture": (
        "another picture",
        "another image",
        "different picture",
        "different image",
        "new picture",
        "다른 사진",
        "다른 그림",
        "다른 이미지",
        "사진 바꿔",
        "그림 바꿔",
        "이미지 바꿔",
    ),
    "layout:top": ("top band", "text on top", "at the top", "위쪽", "상단"),
    "layout:bottom": ("bottom band", "at the bottom", "아래쪽", "하단"),
    "layout:card": ("centred card", "centered card", "card", "가운데", "카드"),
}
# What is left of a message once its refinements and ratio are taken out: this little (in
# letters) and the turn refines the previous draft instead of starting a new brief.
_FILLER = re.compile(
    r"\b(make|it|please|the|a|an|and|more|less|bit|little|now|with|to|version|copy|text|ad|"
    r"이|좀|더|조금|해줘|해 줘|해주세요|해 주세요|바꿔|주세요|만들어|줘|으로|로|버전)\b",
    re.IGNORECASE,
)


def _letters(text: str) -> str:
    return re.sub(r"[\W\d_]+", "", text)


@dataclass(frozen=True)
class Turn:
    brief: str  # the promotion (the message without its ratio); "" when it only steers
    aspect_ratio: str | None = None
    shorter: bool = False
    tone: str | None = None
    language: str | None = None
    layout: str | None = None
    new_picture: bool = False
    asks: frozenset[str] = field(default_factory=frozenset)

    @property
    def refines_only(self) -> bool:
        """True when the message only steers (no new promotion in it)."""
        return not self.brief


def parse(text: str) -> Turn:
    folded = text.casefold()
    asks = {key for key, words in REFINEMENTS.items() if any(w in folded for w in words)}
    ratio = None
    if match := _RATIO.search(text):
        candidate = f"{match.group(1)}:{match.group(2)}"
        ratio = candidate if candidate in AD_RATIOS else None
    if ratio is None:
        ratio = next(
            (r for r, words in RATIO_WORDS.items() if any(w in folded for w in words)), None
        )
    rest = _RATIO.sub(" ", text)
    for key in asks:
        for word in REFINEMENTS[key]:
            rest = re.sub(re.escape(word), " ", rest, flags=re.IGNORECASE)
    if ratio:
        for word in RATIO_WORDS.get(ratio, ()):
            rest = re.sub(re.escape(word), " ", rest, flags=re.IGNORECASE)
    leftover = " ".join(_FILLER.sub(" ", rest).split())

    def pick(prefix: str) -> str | None:
        return next((k.split(":", 1)[1] for k in sorted(asks) if k.startswith(prefix)), None)

    return Turn(
        brief=" ".join(_RATIO.sub(" ", text).split()) if len(_letters(leftover)) >= 6 else "",
        aspect_ratio=ratio,
        shorter="shorter" in asks,
        tone=pick("tone:"),
        language=pick("language:"),
        layout=pick("layout:"),
        new_picture="picture" in asks,
        asks=frozenset(asks),
    )
