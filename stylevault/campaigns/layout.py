"""The ad compositor: copy and logo laid over the generated picture by the project, never drawn
by the model. Pure Pillow and NumPy (no Django), so it is measured and tested on its own.

Rules: delivery size 1080 px wide at the ad's ratio (the picture cover-fitted and upscaled, the
text rendered at that size); Pillow's raqm layout for Korean shaping; lines broken at spaces,
inside an over-long word only where nothing else fits (between Hangul syllables UAX #14 allows
it anyway); no one-word last line; the size fitted so every line fits; every glyph inside the
ratio's safe zone (9:16: clear of the top 14% and the bottom 35%); a text colour with contrast
≥ 4.5:1 against the pixels under the glyphs, a scrim added only as strong as needed; the logo
in a corner that covers neither the text nor the artist's signature.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

DELIVERY_WIDTH = 1080
RATIOS = {
    "1:1": (1, 1),
    "4:5": (4, 5),
    "4:3": (4, 3),
    "3:4": (3, 4),
    "16:9": (16, 9),
    "9:16": (9, 16),
}
# Safe zone per ratio as (left, top, right, bottom) shares of the canvas kept clear of text.
SAFE_MARGINS = {"9:16": (0.06, 0.14, 0.06, 0.35), "16:9": (0.05, 0.08, 0.05, 0.08)}
DEFAULT_MARGINS = (0.06, 0.06, 0.06, 0.06)
LAYOUTS = ("bottom", "top", "card")
MIN_CONTRAST = 4.5
_TARGET_CONTRAST = 4.7  # what the scrim aims for, above the rule, so rounding never fails it
LIGHT, DARK = (255, 255, 255), (0, 0, 0)
# Fonts with Hangul, bold then regular; STYLEVAULT_FONT_DIR is searched first.
FONT_CANDIDATES = (
    ("NanumGothicBold.ttf", "NanumGothic.ttf"),
    ("NanumBarunGothicBold.ttf", "NanumBarunGothic.ttf"),
    ("NotoSansCJK-Bold.ttc", "NotoSansCJK-Regular.ttc"),
)
FONT_DIRS = (
    "/usr/share/fonts/truetype/nanum",
    "/usr/share/fonts/opentype/noto",
    "/usr/share/fonts/truetype/noto",
)

Box = tuple[int, int, int, int]


class FontMissing(RuntimeError):
    """No Korean-capable font is installed (Debian: fonts-nanum or fonts-noto-cjk)."""


@lru_cache(maxsize=1)
def font_files() -> tuple[str, str]:
    """(bold, regular) font paths with Hangul; raises FontMissing naming the fix."""
    dirs = [os.environ.get("STYLEVAULT_FONT_DIR", ""), *FONT_DIRS]
    for bold, regular in FONT_CANDIDATES:
        for folder in filter(None, dirs):
            if (Path(folder) / bold).exists() and (Path(folder) / regular).exists():
                return str(Path(folder) / bold), str(Path(folder) / regular)
    raise FontMissing(
        "No Korean font found for campaign ads: install fonts-nanum or fonts-noto-cjk "
        "(make setup does), or set STYLEVAULT_FONT_DIR to a folder with NanumGothic.ttf and "
        "NanumGothicBold.ttf"
    )


def raqm_available() -> bool:
    return bool(features.check("raqm"))


@lru_cache(maxsize=256)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    engine = ImageFont.Layout.RAQM if raqm_available() else ImageFont.Layout.BASIC
    return ImageFont.truetype(path, size, layout_engine=engine)


def canvas_size(ratio: str) -> tuple[int, int]:
    w, h = RATIOS[ratio]
    return DELIVERY_WIDTH, round(DELIVERY_WIDTH * h / w)


def safe_box(ratio: str) -> Box:
    width, height = canvas_size(ratio)
    left, top, right, bottom = SAFE_MARGINS.get(ratio, DEFAULT_MARGINS)
    return (
        round(width * left),
        round(height * top),
        width - round(width * right),
        height - round(height * bottom),
    )


# -- contrast (WCAG 2) --


def _linear(channel: np.ndarray) -> np.ndarray:
    c = np.asarray(channel, dtype=np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


_LUMA = np.array([0.2126, 0.7152, 0.0722])
_LINEAR_TABLE = _linear(np.arange(256))


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Relative luminance of an (..., 3) array of 8-bit sRGB values."""
    return _LINEAR_TABLE[np.asarray(rgb, dtype=np.uint8)] @ _LUMA


def contrast(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    la, lb = luminance(a), luminance(b)
    return (np.maximum(la, lb) + 0.05) / (np.minimum(la, lb) + 0.05)


def best_on(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    """LIGHT or DARK, whichever reads better on a flat colour (one always passes 4.5:1)."""
    c = np.array(colour)
    return LIGHT if contrast(c, np.array(LIGHT)) >= contrast(c, np.array(DARK)) else DARK


# -- line breaking --


@dataclass(frozen=True)
class _Word:
    text: str
    space_before: bool  # False for the pieces of a word broken inside


def _width(font: ImageFont.FreeTypeFont, text: str) -> int:
    return font.getbbox(text, anchor="ls")[2]


def _split_long(word: str, font, max_width: int) -> list[str]:
    """An over-long word in pieces that each fit, broken between characters."""
    pieces, current = [], ""
    for char in word:
        if current and _width(font, current + char) > max_width:
            pieces.append(current)
            current = char
        else:
            current += char
    return [*pieces, current] if current else pieces


def _join(words: list[_Word]) -> str:
    return "".join((" " if w.space_before and i else "") + w.text for i, w in enumerate(words))


def _greedy(words: list[_Word], font, max_width: int) -> list[list[_Word]]:
    lines: list[list[_Word]] = []
    for word in words:
        if lines and _width(font, _join([*lines[-1], word])) <= max_width:
            lines[-1].append(word)
        else:
            lines.append([word])
    return lines


def _orphan(lines: list[list[_Word]]) -> bool:
    """A last line of one whole word under a line that had several."""
    return (
        len(lines) >= 2
        and len(lines[-1]) == 1
        and lines[-1][0].space_before
        and sum(w.space_before for w in lines[-2]) >= 2
    )


def wrap(text: str, font: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    """Lines broken at spaces, none wider than max_width, no one-word last line: an orphan
    takes the previous line's last word along when the pair fits, else narrower measures
    (down to 60 %) are tried for the same number of lines."""
    words: list[_Word] = []
    for token in text.split():
        if _width(font, token) <= max_width:
            words.append(_Word(token, True))
        else:
            pieces = _split_long(token, font, max_width)
            words += [_Word(p, i == 0) for i, p in enumerate(pieces)]
    lines = _greedy(words, font, max_width)
    if _orphan(lines) and _width(font, _join([lines[-2][-1], lines[-1][0]])) <= max_width:
        lines[-2:] = [lines[-2][:-1], [lines[-2][-1], lines[-1][0]]]  # take one word along
    if _orphan(lines):
        step = max(4, max_width // 40)
        for width in range(max_width - step, int(max_width * 0.6), -step):
            candidate = _greedy(words, font, width)
            if len(candidate) > len(lines):
                break
            if not _orphan(candidate):
                lines = candidate
                break
    return [_join(line) for line in lines]


# -- the composition --


@dataclass(frozen=True)
class AdCopy:
    headline: str
    body: str
    cta: str
    hashtags: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlacedLine:
    text: str
    role: str  # headline, body, cta, hashtags
    size: int
    origin: tuple[int, int]  # the baseline's left end
    box: Box  # the ink's bounding box on the canvas


@dataclass
class Composition:
    image: Image.Image
    backdrop: Image.Image  # the pixels the glyphs were drawn on (picture, scrim, card, pill)
    ink: list[tuple[Image.Image, tuple[int, int, int]]]  # (glyph coverage "L", colour) per colour
    lines: list[PlacedLine]
    safe: Box
    text_box: Box  # the band or card the text lives in
    logo_box: Box | None
    protected: Box | None  # the artist's signature on the canvas
    scrim_alpha: float = 0.0
    notes: list[str] = field(default_factory=list)


def _cover(picture: Image.Image, size: tuple[int, int]) -> tuple[Image.Image, float, int, int]:
    """The picture scaled to cover `size` and centre-cropped; returns the scale and offsets."""
    width, height = size
    scale = max(width / picture.width, height / picture.height)
    scaled = (max(width, round(picture.width * scale)), max(height, round(picture.height * scale)))
    left, top = (scaled[0] - width) // 2, (scaled[1] - height) // 2
    resized = picture.convert("RGB").resize(
        size,
        Image.Resampling.BICUBIC,
        box=(left / scale, top / scale, (left + width) / scale, (top + height) / scale),
    )
    return resized, scale, left, top


def _intersects(a: Box, b: Box, gap: int = 0) -> bool:
    return not (
        a[2] + gap <= b[0] or b[2] + gap <= a[0] or a[3] + gap <= b[1] or b[3] + gap <= a[1]
    )


@dataclass
class _Block:
    role: str
    lines: list[str]
    font: ImageFont.FreeTypeFont
    size: int
    gap_after: int

    @property
    def line_height(self) -> int:
        ascent, descent = self.font.getmetrics()
        return round((ascent + descent) * 1.12)

    @property
    def height(self) -> int:
        return self.line_height * len(self.lines) + self.gap_after


def _blocks(copy: AdCopy, headline_size: int, width: int, cta_pad: int) -> list[_Block]:
    bold, regular = font_files()
    sizes = {
        "headline": headline_size,
        "body": max(12, round(headline_size * 0.5)),
        "cta": max(12, round(headline_size * 0.46)),
        "hashtags": max(11, round(headline_size * 0.4)),
    }
    texts = {
        "headline": copy.headline,
        "body": copy.body,
        "cta": copy.cta,
        "hashtags": " ".join(copy.hashtags),
    }
    blocks = []
    for role in ("headline", "body", "cta", "hashtags"):
        if not texts[role].strip():
            continue
        font = _font(bold if role in ("headline", "cta") else regular, sizes[role])
        limit = width - 2 * cta_pad if role == "cta" else width
        blocks.append(_Block(role, wrap(texts[role], font, limit), font, sizes[role], 0))
    for block in blocks[:-1]:
        block.gap_after = round(block.size * (0.9 if block.role == "cta" else 0.45))
    return blocks


def _fit(copy: AdCopy, width: int, height: int, canvas_width: int) -> list[_Block]:
    """The largest headline size (binary search) whose blocks fit width × height."""
    low, high = 14, round(canvas_width * 0.09)
    best = None
    while low <= high:
        size = (low + high) // 2
        blocks = _blocks(copy, size, width, cta_pad=round(size * 0.4))
        if sum(b.height for b in blocks) + _cta_extra(blocks) <= height:
            best, low = blocks, size + 1
        else:
            high = size - 1
    if best is None:  # even the smallest size does not fit: drop hashtags, then shorten the body
        best = _blocks(AdCopy(copy.headline, copy.body, copy.cta), 14, width, cta_pad=6)
        while sum(b.height for b in best) + _cta_extra(best) > height and any(
            len(b.lines) > 1 for b in best
        ):
            longest = max(best, key=lambda b: len(b.lines))
            longest.lines = [*longest.lines[:-2], longest.lines[-2].rstrip(" .,") + "…"]
    return best


def _cta_extra(blocks: list[_Block]) -> int:
    """The pill around the call to action adds padding above and below its line."""
    return sum(round(b.size * 0.5) for b in blocks if b.role == "cta")


def _zone(layout: str, safe: Box, protected: Box | None, block_height: int, pad: int) -> Box:
    x0, y0, x1, y1 = safe
    if layout == "top":
        return (x0, y0, x1, y0 + block_height)
    bottom = y1
    if protected is not None and protected[1] - pad < bottom:
        bottom = protected[1] - pad  # a bottom band stays above the artist's signature
    if layout == "bottom":
        return (x0, bottom - block_height, x1, bottom)
    middle = (y0 + bottom) // 2
    return (x0, middle - block_height // 2, x1, middle - block_height // 2 + block_height)


def _available_height(layout: str, safe: Box, protected: Box | None, pad: int) -> int:
    _x0, y0, _x1, y1 = safe
    bottom = y1 if protected is None or layout == "top" else min(y1, protected[1] - pad)
    share = 0.9 if layout == "card" else 0.55
    return max(40, round((bottom - y0) * share) - (2 * pad if layout == "card" else 0))


def compose(
    picture: Image.Image,
    copy: AdCopy,
    *,
    ratio: str,
    layout: str = "bottom",
    primary: tuple[int, int, int] = (31, 111, 235),
    logo: Image.Image | None = None,
    signature: Box | None = None,
) -> Composition:
    """The finished ad's pixels; `signature` is the artist's signature box on `picture`."""
    if ratio not in RATIOS:
        raise ValueError(f"unknown ratio {ratio!r}")
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}")
    size = canvas_size(ratio)
    canvas, scale, left, top = _cover(picture, size)
    protected = None
    if signature is not None:
        protected = (
            max(0, round(signature[0] * scale) - left),
            max(0, round(signature[1] * scale) - top),
            min(size[0], round(signature[2] * scale) - left),
            min(size[1], round(signature[3] * scale) - top),
        )
        if protected[0] >= protected[2] or protected[1] >= protected[3]:
            protected = None  # cropped away
    safe = safe_box(ratio)
    pad = round(size[0] * 0.03)
    inner = pad if layout == "card" else 0
    text_width = safe[2] - safe[0] - 2 * inner
    blocks = _fit(copy, text_width, _available_height(layout, safe, protected, pad), size[0])
    block_height = sum(b.height for b in blocks) + _cta_extra(blocks)
    zone = _zone(layout, safe, protected, block_height + 2 * inner, pad)

    # Where each line goes: baselines from the zone's top; card text is centred.
    lines: list[PlacedLine] = []
    pills: list[Box] = []
    y = zone[1] + inner
    for block in blocks:
        cta_pad = round(block.size * 0.4)
        if block.role == "cta":
            y += round(block.size * 0.25)
        ascent = block.font.getmetrics()[0]
        for text in block.lines:
            width = _width(block.font, text)
            x = zone[0] + inner + (cta_pad if block.role == "cta" else 0)
            if layout == "card":
                x = (zone[0] + zone[2]) // 2 - width // 2
            origin = (x, y + ascent)
            ink = block.font.getbbox(text, anchor="ls")
            box = (x + ink[0], origin[1] + ink[1], x + ink[2], origin[1] + ink[3])
            lines.append(PlacedLine(text, block.role, block.size, origin, box))
            if block.role == "cta":
                pills.append(
                    (
                        x - cta_pad,
                        y - round(block.size * 0.25),
                        x + width + cta_pad,
                        y + block.line_height + round(block.size * 0.25),
                    )
                )
            y += block.line_height
        if block.role == "cta":
            y += round(block.size * 0.25)
        y += block.gap_after

    # The band (or card) behind the text, and the glyph coverage per colour.
    band = (0, zone[1] - pad, size[0], zone[3] + pad) if layout != "card" else zone
    band = (band[0], max(0, band[1]), band[2], min(size[1], band[3]))
    fonts = {b.role: b.font for b in blocks}
    band_size = (band[2] - band[0], band[3] - band[1])
    text_mask, cta_mask = Image.new("L", band_size, 0), Image.new("L", band_size, 0)
    for line in lines:
        target = cta_mask if line.role == "cta" else text_mask
        origin = (line.origin[0] - band[0], line.origin[1] - band[1])
        ImageDraw.Draw(target).text(origin, line.text, fill=255, font=fonts[line.role], anchor="ls")

    backdrop = canvas
    draw = ImageDraw.Draw(backdrop, "RGBA")
    if layout == "card":
        draw.rounded_rectangle(zone, radius=pad, fill=(250, 250, 247, 235))
    region = np.asarray(backdrop.crop(band))
    colour, alpha = _text_colour(region[np.asarray(text_mask) > 0])
    notes: list[str] = []
    if alpha > 0:
        scrim_colour = (0, 0, 0) if colour == LIGHT else (255, 255, 255)
        draw.rectangle(band, fill=(*scrim_colour, round(alpha * 255)))
        notes.append(f"scrim {alpha:.2f}")
    cta_colour = best_on(primary)
    for pill in pills:
        draw.rounded_rectangle(pill, radius=(pill[3] - pill[1]) // 2, fill=primary)

    image = backdrop.copy()
    image.paste(colour, band, text_mask)
    image.paste(cta_colour, band, cta_mask)
    full_masks = []
    for mask, ink_colour in ((text_mask, colour), (cta_mask, cta_colour)):
        full = Image.new("L", size, 0)
        full.paste(mask, band[:2])
        full_masks.append((full, ink_colour))

    logo_box = None
    if logo is not None:
        logo_box = _place_logo(image, logo, safe, band, protected, [ln.box for ln in lines], pad)
        if logo_box is None:
            notes.append("logo left out: no free corner")
    return Composition(
        image=image,
        backdrop=backdrop,
        ink=full_masks,
        lines=lines,
        safe=safe,
        text_box=band,
        logo_box=logo_box,
        protected=protected,
        scrim_alpha=alpha,
        notes=notes,
    )


def _text_colour(under: np.ndarray) -> tuple[tuple[int, int, int], float]:
    """The text colour and the scrim opacity (0: none) that give every pixel under the glyphs
    (`under`, N × 3 of 8-bit RGB) 4.5:1; the opacity is the least that does, in 1/32 steps."""
    if under.size == 0:
        return LIGHT, 0.0
    worst = {c: float(contrast(under, np.array(c)).min()) for c in (LIGHT, DARK)}
    colour = max(worst, key=worst.get)
    if worst[colour] >= _TARGET_CONTRAST:
        return colour, 0.0
    scrim = np.array((0.0, 0.0, 0.0) if colour == LIGHT else (255.0, 255.0, 255.0))
    pixels = under.astype(np.float64)
    low, high = 0, 32  # in 32nds; 32 (opaque) always passes
    while low < high:
        middle = (low + high) // 2
        alpha = middle / 32
        # Pillow blends in 8 bits: model its rounding.
        mixed = np.floor(pixels * (1 - alpha) + scrim * alpha + 0.5)
        if float(contrast(mixed, np.array(colour)).min()) >= _TARGET_CONTRAST:
            high = middle
        else:
            low = middle + 1
    return colour, low / 32


def _place_logo(
    image: Image.Image,
    logo: Image.Image,
    safe: Box,
    band: Box,
    protected: Box | None,
    text_boxes: list[Box],
    pad: int,
) -> Box | None:
    width, height = image.size
    rgba = logo.convert("RGBA")
    limit_w, limit_h = round(width * 0.2), round(height * 0.09)
    for shrink in (1.0, 0.75, 0.5):
        scale = min(limit_w / rgba.width, limit_h / rgba.height) * shrink
        w, h = max(1, round(rgba.width * scale)), max(1, round(rgba.height * scale))
        x0, y0, x1, y1 = safe
        corners = [(x0, y0), (x1 - w, y0), (x0, y1 - h), (x1 - w, y1 - h)]
        for cx, cy in corners:
            box = (cx, cy, cx + w, cy + h)
            blocked = [band, *text_boxes] + ([protected] if protected else [])
            if not any(_intersects(box, other, gap=pad // 2) for other in blocked):
                image.paste(
                    rgba.resize((w, h), Image.Resampling.LANCZOS),
                    (cx, cy),
                    rgba.resize((w, h), Image.Resampling.LANCZOS),
                )
                return box
    return None
