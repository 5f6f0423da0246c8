"""The compositor over 320 generated briefs (Korean and English, long words, no spaces, long
hashtags, every ratio and layout, pictures from black to white to noise), measured on the
rendered pixels: every glyph inside the safe zone and unclipped, contrast ≥ 4.5:1 under the
glyphs, the logo clear of the text and the signature, nothing of the copy lost."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image

from stylevault.campaigns import layout
from stylevault.campaigns.layout import AdCopy, compose, contrast

KO_WORDS = [
    "겨울",
    "신메뉴",
    "따뜻한",
    "한잔",
    "우리",
    "동네",
    "카페",
    "오늘",
    "만나요",
    "특별한",
    "할인",
    "소식",
    "새로운",
    "맛",
    "준비했어요",
    "단골",
    "고객",
    "감사",
]
EN_WORDS = [
    "fresh",
    "winter",
    "menu",
    "warm",
    "cup",
    "neighbourhood",
    "cafe",
    "today",
    "special",
    "offer",
    "taste",
    "waiting",
    "welcome",
]
LONG = [
    "Supercalifragilisticexpialidocious",
    "아주아주아주아주아주아주긴단어입니다정말로요",
    "pneumonoultramicroscopic",
]


def _words(rng: random.Random, language: str, count: int) -> str:
    pool = KO_WORDS if language == "ko" else EN_WORDS
    words = [rng.choice(pool) for _ in range(count)]
    if rng.random() < 0.25:
        words.insert(rng.randrange(len(words) + 1), rng.choice(LONG))
    return " ".join(words)


def _copy(rng: random.Random) -> AdCopy:
    language = rng.choice(["ko", "en"])
    headline = _words(rng, language, rng.randint(1, 9))
    body = _words(rng, language, rng.randint(0, 40))
    if rng.random() < 0.15:  # no spaces at all
        headline, body = headline.replace(" ", ""), body.replace(" ", "")
    tags = tuple(
        "#" + _words(rng, language, rng.randint(1, 6)).replace(" ", "")
        for _ in range(rng.randint(0, 5))
    )
    cta = rng.choice(["지금 방문하세요", "Book now", "오늘 들러 보세요", "See you in store today"])
    return AdCopy(headline, body, cta, tags)


def _picture(rng: random.Random) -> Image.Image:
    size = (rng.choice([192, 256, 320]), rng.choice([144, 256, 448]))
    kind = rng.choice(["noise", "white", "black", "grey", "gradient", "stripes"])
    np_rng = np.random.default_rng(rng.randrange(1 << 30))
    if kind == "noise":
        pixels = np_rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    elif kind == "stripes":
        pixels = np.zeros((size[1], size[0], 3), np.uint8)
        pixels[:, ::4] = 255
    elif kind == "gradient":
        ramp = np.linspace(0, 255, size[0], dtype=np.uint8)
        pixels = np.repeat(np.repeat(ramp[None, :, None], size[1], 0), 3, 2)
    else:
        value = {"white": 255, "black": 0, "grey": 118}[kind]
        pixels = np.full((size[1], size[0], 3), value, np.uint8)
    return Image.fromarray(pixels)


def _logo(rng: random.Random) -> Image.Image | None:
    if rng.random() < 0.2:
        return None
    logo = Image.new("RGBA", (rng.randint(20, 600), rng.randint(20, 600)), (0, 0, 0, 0))
    logo.paste((200, 30, 30, 255), (2, 2, logo.width - 2, logo.height - 2))
    return logo


def _inside(box, outer) -> bool:
    return box[0] >= outer[0] and box[1] >= outer[1] and box[2] <= outer[2] and box[3] <= outer[3]


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


CASES = 320


@pytest.mark.parametrize("chunk", range(8))
def test_generated_briefs_lay_out_within_the_rules(chunk):
    rng = random.Random(1000 + chunk)
    for case in range(CASES // 8):
        copy, picture, logo = _copy(rng), _picture(rng), _logo(rng)
        ratio, kind = rng.choice(list(layout.RATIOS)), rng.choice(layout.LAYOUTS)
        primary = tuple(rng.randrange(256) for _ in range(3))
        signature = (picture.width - 60, picture.height - 30, picture.width - 8, picture.height - 8)
        label = (chunk, case, ratio, kind, copy)
        result = compose(
            picture, copy, ratio=ratio, layout=kind, primary=primary, logo=logo, signature=signature
        )
        image = np.asarray(result.image)
        backdrop = np.asarray(result.backdrop)
        assert result.image.size == layout.canvas_size(ratio) and result.image.width == 1080
        # Every line inside the safe zone; lines never overlap (nothing drawn over another).
        for line in result.lines:
            assert _inside(line.box, result.safe), (label, line)
        for a, b in zip(result.lines, result.lines[1:], strict=False):
            assert not _overlap(a.box, b.box), (label, a, b)
        # Measured on pixels: the glyphs' coverage stays in the safe zone, and contrast ≥ 4.5:1
        # between the text colour and every pixel the glyphs were drawn on.
        for mask, colour in result.ink:
            coverage = np.asarray(mask)
            if not coverage.any():
                continue
            ys, xs = np.nonzero(coverage)
            ink_box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
            assert _inside(ink_box, result.safe), (label, ink_box, result.safe)
            under = backdrop[coverage > 0]
            assert contrast(under, np.array(colour)).min() >= 4.5, label
            solid = image[coverage == 255]
            assert np.abs(solid.astype(int) - colour).max() <= 1, label
        # The logo sits in a corner clear of the text, the band and the artist's signature.
        if result.logo_box is not None:
            assert _inside(result.logo_box, (0, 0, *result.image.size)), label
            assert not _overlap(result.logo_box, result.text_box), label
            assert not any(_overlap(result.logo_box, line.box) for line in result.lines), label
            if result.protected:
                assert not _overlap(result.logo_box, result.protected), label
        # Nothing of the copy is lost unless it had to be shortened (marked with an ellipsis).
        for role, text in (("headline", copy.headline), ("body", copy.body), ("cta", copy.cta)):
            laid = "".join(line.text for line in result.lines if line.role == role)
            if "…" not in laid:
                assert laid.replace(" ", "") == text.replace(" ", ""), (label, role)


def test_no_one_word_last_line():
    font = layout._font(layout.font_files()[1], 40)
    text = "따뜻한 겨울 음료와 함께 오늘 하루도 행복하게 보내세요 기다릴게요"
    for width in range(200, 900, 37):
        lines = layout.wrap(text, font, width)
        last_two = " ".join(text.split()[-2:])
        if len(lines) >= 2 and layout._width(font, last_two) <= width:
            assert " " in lines[-1], (width, lines)  # an orphan only where no pair fits


def test_korean_breaks_only_at_spaces_when_words_fit():
    font = layout._font(layout.font_files()[1], 40)
    text = "우리 동네 카페에서 겨울 신메뉴를 만나 보세요"
    lines = layout.wrap(text, font, 300)
    assert all(word in text.split() for line in lines for word in line.split())
    assert all(layout._width(font, line) <= 300 for line in lines)


def test_missing_font_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(layout, "FONT_DIRS", (str(tmp_path),))
    monkeypatch.setenv("STYLEVAULT_FONT_DIR", str(tmp_path))
    layout.font_files.cache_clear()
    try:
        with pytest.raises(layout.FontMissing, match="fonts-nanum"):
            layout.font_files()
        from stylevault.campaigns.checks import korean_font_installed

        assert [e.id for e in korean_font_installed()] == ["campaigns.E001"]
    finally:
        layout.font_files.cache_clear()


def test_raqm_shapes_korean():
    assert layout.raqm_available()
