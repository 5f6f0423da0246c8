"""Procedural artworks made in code: the demo style, and many distinct 'artists' for calibration.

`demo_artworks` paints the demo style (ink and watercolour landscapes on cream paper, one fixed
palette) that `stylevault demo` trains on. `procedural_artist` turns a style seed into an
artist: a fixed set of style parameters (mark type, palette, paper, stroke width, direction,
softness, ...) that paints a different picture for every picture seed. Consecutive style seeds
always differ in mark type and hue, so seeds 0 and 1 are two clearly different artists.

Only NumPy and Pillow: no weights, no files, deterministic per seed.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

# Demo training settings for the tiny model on a 2-core CPU (see docs/decisions/012): about
# 25 s, and the probe loss drops clearly.
DEMO_TRAINING: dict[str, float | int] = {
    "rank": 8,
    "steps": 120,
    "resolution": 256,
    "learning_rate": 3e-3,
}
DEMO_TRIGGER = "svdemo style"

# The demo palette: cream paper, indigo ink, sage and teal hills, ochre sun, pine green.
_PAPER = (244, 236, 220)
_INK = (46, 52, 82)
_HILLS = ((168, 190, 160), (120, 160, 150), (92, 128, 126), (70, 100, 96))
_SKY = (188, 210, 222)
_SUN = (236, 178, 92)
_TREE = (58, 94, 70)

MOTIFS = ("strokes", "curves", "dots", "blobs", "hatching", "shapes", "scribble")
Colour = tuple[int, int, int]


def demo_artworks(count: int = 12, size: int = 512, seed: int = 0) -> list[tuple[Image.Image, str]]:
    """`count` demo-style landscapes of `size` x `size` pixels, each with its caption.

    Captions describe the picture; prefix them with DEMO_TRIGGER for training.
    """
    return [_landscape(np.random.default_rng([seed, index]), size) for index in range(count)]


@dataclass(frozen=True)
class ArtistStyle:
    """What stays the same across one artist's pictures. Lengths are shares of the side."""

    seed: int  # the style seed; pictures of different artists never share random draws
    motif: str
    palette: tuple[Colour, ...]
    paper: Colour
    grain: float  # paper texture amplitude, in 0-255 levels
    width: float  # mark thickness
    length: float  # mark length
    angle: float  # dominant mark direction, radians
    spread: float  # how far directions stray from `angle`, radians
    density: int  # marks per picture
    blur: float  # softness of the marks
    outline: bool  # dark ink outline around marks


def artist_style(style_seed: int) -> ArtistStyle:
    """The style parameters of artist `style_seed`."""
    rng = np.random.default_rng([7, style_seed])
    motif = MOTIFS[style_seed % len(MOTIFS)]
    # Golden-ratio steps keep consecutive artists' hues far apart.
    hue = (0.13 + style_seed * 0.618034) % 1.0
    dark_paper = rng.random() < 0.25
    return ArtistStyle(
        seed=style_seed,
        motif=motif,
        palette=_palette(rng, hue, dark_paper),
        paper=_paper(rng, hue, dark_paper),
        grain=float(rng.uniform(2, 14)),
        width=float(rng.uniform(0.003, 0.02)),
        length=float(rng.uniform(0.04, 0.2)),
        angle=float(rng.uniform(0, math.pi)),
        spread=float(rng.choice([0.1, 0.4, math.pi])),
        density=int(rng.integers(60, 260)),
        blur=float(rng.choice([0.0, 0.0015, 0.004])),
        outline=bool(rng.random() < 0.4),
    )


def procedural_artist(style_seed: int, size: int = 512) -> Callable[[int], Image.Image]:
    """An artist: call the result with a picture seed to get one `size` x `size` artwork."""
    style = artist_style(style_seed)

    def paint(picture_seed: int) -> Image.Image:
        return paint_artwork(style, picture_seed, size)

    return paint


def paint_artwork(style: ArtistStyle, picture_seed: int, size: int = 512) -> Image.Image:
    """One picture in `style`: a background wash, then marks massed around a few focal points."""
    rng = np.random.default_rng([11, style.seed, picture_seed])
    image = _background(style, rng, size)
    draw = ImageDraw.Draw(image)
    # Each picture favours its own colours and places its marks around its own focal points.
    weights = rng.dirichlet(np.full(len(style.palette), 2.0))
    foci = rng.uniform(0.15, 0.85, (int(rng.integers(1, 4)), 2)) * size
    count = int(style.density * rng.uniform(0.8, 1.2))
    for _ in range(count):
        centre = foci[rng.integers(len(foci))] + rng.normal(0, size * 0.22, 2)
        colour = style.palette[rng.choice(len(style.palette), p=weights)]
        _MARKS[style.motif](draw, style, rng, centre, _jitter(colour, rng, 12), size)
    if style.blur:
        image = image.filter(ImageFilter.GaussianBlur(style.blur * size))
    return _with_grain(image, style.grain, rng)


def _palette(rng: np.random.Generator, hue: float, dark_paper: bool) -> tuple[Colour, ...]:
    # A harmony scheme: analogous, complementary or triadic hue offsets.
    offsets = [(0.0, 0.06, -0.06), (0.0, 0.5, 0.04), (0.0, 1 / 3, 2 / 3)][int(rng.integers(3))]
    saturation = rng.uniform(0.35, 0.95)
    lightness = rng.uniform(0.55, 0.75) if dark_paper else rng.uniform(0.25, 0.6)
    colours = []
    for index in range(int(rng.integers(3, 6))):
        shade = lightness + rng.uniform(-0.12, 0.12)
        offset = offsets[index % len(offsets)]
        colours.append(_hls(hue + offset, shade, saturation))
    return tuple(colours)


def _paper(rng: np.random.Generator, hue: float, dark_paper: bool) -> Colour:
    if dark_paper:
        return _hls(hue + 0.5, rng.uniform(0.08, 0.2), rng.uniform(0.1, 0.4))
    return _hls(hue + rng.uniform(-0.1, 0.1), rng.uniform(0.86, 0.95), rng.uniform(0.1, 0.5))


def _hls(hue: float, lightness: float, saturation: float) -> Colour:
    rgb = colorsys.hls_to_rgb(hue % 1.0, float(np.clip(lightness, 0, 1)), saturation)
    return tuple(round(255 * c) for c in rgb)  # type: ignore[return-value]


def _jitter(colour: Colour, rng: np.random.Generator, amount: int) -> Colour:
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in colour)  # type: ignore[return-value]


def _background(style: ArtistStyle, rng: np.random.Generator, size: int) -> Image.Image:
    """Paper with a faint wash of the artist's first colour, laid differently each time."""
    paper = np.array(style.paper, dtype=np.float32)
    tint = np.array(style.palette[0], dtype=np.float32)
    wash = _smooth_noise(rng, size, cells=3)[..., None] * rng.uniform(0.03, 0.12)
    pixels = paper * (1 - wash) + tint * wash
    return Image.fromarray(pixels.astype(np.uint8))


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Low-frequency noise in [0, 1]: a `cells` x `cells` grid upscaled bicubically."""
    grid = (rng.random((cells + 1, cells + 1)) * 255).astype(np.uint8)
    smooth = Image.fromarray(grid).resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(smooth, dtype=np.float32) / 255.0


def _with_grain(image: Image.Image, amount: float, rng: np.random.Generator) -> Image.Image:
    pixels = np.asarray(image, dtype=np.float32)
    grain = rng.normal(0, amount, pixels.shape[:2])[..., None]
    return Image.fromarray(np.clip(pixels + grain, 0, 255).astype(np.uint8))


def _direction(style: ArtistStyle, rng: np.random.Generator) -> float:
    return style.angle + rng.uniform(-style.spread, style.spread)


def _outline(style: ArtistStyle) -> Colour | None:
    if not style.outline:
        return None
    return (235, 230, 220) if sum(style.paper) < 300 else (25, 25, 30)


def _stroke(draw, style, rng, centre, colour, size) -> None:
    angle = _direction(style, rng)
    half = style.length * size * rng.uniform(0.6, 1.2) / 2
    dx, dy = half * math.cos(angle), half * math.sin(angle)
    line = [(centre[0] - dx, centre[1] - dy), (centre[0] + dx, centre[1] + dy)]
    width = max(1, round(style.width * size))
    if style.outline:
        draw.line(line, fill=_outline(style), width=width + 2)
    draw.line(line, fill=colour, width=width)


def _curve(draw, style, rng, centre, colour, size) -> None:
    angle = _direction(style, rng)
    bend = rng.uniform(-2.5, 2.5)
    steps = 12
    length = style.length * size * rng.uniform(0.8, 1.6)
    points = []
    x, y = centre
    for step in range(steps):
        heading = angle + bend * step / steps
        x += length / steps * math.cos(heading)
        y += length / steps * math.sin(heading)
        points.append((x, y))
    draw.line(points, fill=colour, width=max(1, round(style.width * size)), joint="curve")


def _dot(draw, style, rng, centre, colour, size) -> None:
    radius = style.width * size * rng.uniform(0.8, 1.6)
    for _ in range(6):
        x, y = centre + rng.normal(0, style.length * size / 3, 2)
        box = [x - radius, y - radius, x + radius, y + radius]
        draw.ellipse(box, fill=colour, outline=_outline(style))


def _blob(draw, style, rng, centre, colour, size) -> None:
    rx = style.length * size * rng.uniform(0.4, 1.0)
    ry = rx * rng.uniform(0.4, 1.0)
    box = [centre[0] - rx, centre[1] - ry, centre[0] + rx, centre[1] + ry]
    draw.ellipse(box, fill=colour, outline=_outline(style), width=2)


def _hatch(draw, style, rng, centre, colour, size) -> None:
    angle = _direction(style, rng)
    half = style.length * size / 2
    dx, dy = half * math.cos(angle), half * math.sin(angle)
    # Neighbouring parallel lines, offset across the direction.
    nx, ny = -math.sin(angle), math.cos(angle)
    gap = max(2.0, style.width * size * 2.5)
    width = max(1, round(style.width * size / 2))
    for line in range(5):
        ox, oy = centre[0] + nx * gap * line, centre[1] + ny * gap * line
        draw.line([(ox - dx, oy - dy), (ox + dx, oy + dy)], fill=colour, width=width)


def _shape(draw, style, rng, centre, colour, size) -> None:
    radius = style.length * size * rng.uniform(0.5, 1.2)
    sides = int(rng.integers(3, 5))
    turn = _direction(style, rng)
    points = [
        (
            centre[0] + radius * math.cos(turn + 2 * math.pi * k / sides),
            centre[1] + radius * math.sin(turn + 2 * math.pi * k / sides),
        )
        for k in range(sides)
    ]
    draw.polygon(points, fill=colour, outline=_outline(style))


def _scribble(draw, style, rng, centre, colour, size) -> None:
    step = style.length * size / 6
    heading = _direction(style, rng)
    points = [tuple(centre)]
    for _ in range(10):
        heading += rng.normal(0, 1.2)
        x, y = points[-1]
        points.append((x + step * math.cos(heading), y + step * math.sin(heading)))
    draw.line(points, fill=colour, width=max(1, round(style.width * size / 2)))


_MARKS = {
    "strokes": _stroke,
    "curves": _curve,
    "dots": _dot,
    "blobs": _blob,
    "hatching": _hatch,
    "shapes": _shape,
    "scribble": _scribble,
}


# --- The demo style ---------------------------------------------------------------------------


def _landscape(rng: np.random.Generator, size: int) -> tuple[Image.Image, str]:
    """Sky wash, sun, three to five layered hills with trees, ink ridge lines, paper grain."""
    canvas = np.empty((size, size, 3), dtype=np.float32)
    canvas[:] = _PAPER
    sky_mask = np.linspace(1.0, 0.0, size, dtype=np.float32)[:, None] ** 1.5
    _wash(canvas, np.broadcast_to(sky_mask, (size, size)) * 0.6, _SKY, rng)
    sun_x, sun_y = rng.uniform(0.15, 0.85) * size, rng.uniform(0.12, 0.35) * size
    _wash(canvas, _disc(size, sun_x, sun_y, rng.uniform(0.06, 0.1) * size), _SUN, rng)
    hills = int(rng.integers(3, 6))
    ridges = []
    for layer in range(hills):
        horizon = (0.42 + 0.5 * layer / hills) * size
        ridge = _ridge(rng, size, horizon, amplitude=size * rng.uniform(0.04, 0.1))
        colour = _HILLS[min(layer * len(_HILLS) // hills, len(_HILLS) - 1)]
        _wash(canvas, _below(ridge, size), colour, rng)
        ridges.append(ridge)
    image = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    trees = _draw_trees(draw, rng, ridges, size)
    for ridge in ridges:
        points = list(zip(np.arange(size), ridge, strict=True))
        draw.line(points, fill=_INK, width=max(1, size // 256))
    image = _with_grain(image.filter(ImageFilter.GaussianBlur(size / 512)), 5.0, rng)
    caption = (
        f"ink and watercolour landscape, {hills} layered hills, "
        f"{trees} pine trees, {'a low' if sun_y > 0.25 * size else 'a high'} sun, cream paper"
    )
    return image, caption


def _wash(canvas: np.ndarray, mask: np.ndarray, colour: Colour, rng: np.random.Generator) -> None:
    """Transparent pigment, multiplied onto the canvas, granular, darker at its edges."""
    size = canvas.shape[0]
    soft = np.asarray(
        Image.fromarray((mask * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(size / 200)),
        dtype=np.float32,
    )
    soft /= 255.0
    # Watercolour pools at a shape's edge: where the mask is set but its blur is lower.
    edge = np.clip(mask - soft, 0, 1) * 1.5
    pigment = np.clip(soft * (0.75 + 0.25 * _smooth_noise(rng, size, cells=12)) + edge, 0, 1)
    absorb = 1.0 - np.array(colour, dtype=np.float32) / 255.0
    canvas *= 1.0 - pigment[..., None] * absorb


def _disc(size: int, x: float, y: float, radius: float) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    return ((xx - x) ** 2 + (yy - y) ** 2 <= radius**2).astype(np.float32)


def _ridge(rng: np.random.Generator, size: int, horizon: float, amplitude: float) -> np.ndarray:
    """A smooth hill line: a sum of a few random sines around `horizon`."""
    x = np.arange(size) / size
    ridge = np.full(size, horizon)
    for octave in (1, 2, 4):
        phase = rng.uniform(0, 2 * math.pi)
        ridge += (
            amplitude / octave * np.sin(2 * math.pi * octave * x * rng.uniform(0.5, 1.2) + phase)
        )
    return ridge


def _below(ridge: np.ndarray, size: int) -> np.ndarray:
    return (np.arange(size)[:, None] >= ridge[None, :]).astype(np.float32)


def _draw_trees(
    draw: ImageDraw.ImageDraw, rng: np.random.Generator, ridges: list[np.ndarray], size: int
) -> int:
    """Pine trees standing on random ridges, ink-outlined; returns how many."""
    count = int(rng.integers(3, 9))
    for _ in range(count):
        ridge = ridges[int(rng.integers(len(ridges)))]
        x = float(rng.uniform(0.05, 0.95) * size)
        base = float(ridge[int(x)]) + size * 0.01
        height = size * rng.uniform(0.06, 0.12)
        half = height * 0.28
        tree = [(x, base - height), (x + half, base), (x - half, base)]
        draw.polygon(tree, fill=_TREE, outline=_INK)
        draw.line([(x, base), (x, base + height * 0.12)], fill=_INK, width=max(1, size // 256))
    return count
