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


# --- Captioned scenes: the built-in model's training corpus ------------------------------------

SCENE_CORPUS_VERSION = "scenes-v1"
COLOURS: dict[str, Colour] = {
    "red": (212, 38, 38),
    "orange": (240, 138, 28),
    "yellow": (246, 214, 48),
    "green": (52, 158, 66),
    "blue": (38, 88, 212),
    "purple": (128, 56, 172),
    "pink": (242, 128, 184),
    "brown": (128, 78, 40),
    "black": (24, 24, 26),
    "white": (246, 246, 244),
    "grey": (128, 128, 130),
}
# Colours with a hue of their own, the ones a dominant-hue measure can tell apart.
HUED_COLOURS = ("red", "orange", "yellow", "green", "blue", "purple", "pink")
PLACES: dict[str, tuple[float, float]] = {
    "at the top": (0.5, 0.24),
    "at the bottom": (0.5, 0.76),
    "on the left": (0.24, 0.5),
    "on the right": (0.76, 0.5),
    "in the centre": (0.5, 0.5),
}
TIMES = ("day", "dusk", "night")
OBJECTS = ("sun", "moon", "circle", "square", "triangle", "flower", "tree", "house", "boat")
GROUNDS = ("sea", "lake", "hills", "mountains", "forest", "road")
SKY_SUBJECTS = ("sky", "clouds", "stars")
SUBJECTS = (*OBJECTS, *GROUNDS, *SKY_SUBJECTS, "stripes")
_PLURAL = {"hills", "mountains", "clouds", "stars", "stripes"}
# The colour a subject has when its caption names none.
_USUAL = {
    "sun": "yellow",
    "moon": "white",
    "tree": "green",
    "sea": "blue",
    "lake": "blue",
    "hills": "green",
    "mountains": "grey",
    "forest": "green",
    "road": "grey",
    "clouds": "white",
    "stars": "white",
    "sky": "blue",
}
_SKIES: dict[str, tuple[Colour, Colour]] = {  # top and horizon colour
    "day": ((118, 176, 232), (196, 222, 240)),
    "dusk": ((92, 70, 140), (244, 150, 96)),
    "night": ((10, 14, 40), (34, 40, 84)),
}
FILLS = ("flat", "wash", "crayon", "dots", "hatch")


@dataclass(frozen=True)
class SceneLook:
    """How a scene is painted: the same scene in two looks shares only its layout and colours."""

    fill: str  # one of FILLS
    paper: Colour
    grain: float  # paper texture, in 0-255 levels
    outline: float  # ink outline width as a share of the side; 0 for none
    ink: Colour
    pixel: int  # block count across the side for a pixel look; 0 for none
    blur: float  # softness, share of the side
    saturation: float  # scales the colours' saturation
    lightness: float  # shifts the colours' lightness


@dataclass(frozen=True)
class Scene:
    """What a picture shows, in words: `render_scene` paints it, `caption` says it."""

    subject: str
    colour: str
    place: str | None
    time: str | None
    extras: tuple[tuple[str, str], ...]  # (subject, colour) drawn behind or around the subject
    caption: str


def scene_look(seed: int) -> SceneLook:
    """One of many looks, drawn from `seed`."""
    rng = np.random.default_rng([23, seed])
    dark = rng.random() < 0.12
    paper = (
        _hls(rng.uniform(0, 1), rng.uniform(0.1, 0.2), 0.2)
        if dark
        else _hls(rng.uniform(0.05, 0.2), rng.uniform(0.86, 0.97), rng.uniform(0.0, 0.5))
    )
    return SceneLook(
        fill=str(rng.choice(FILLS)),
        paper=paper,
        grain=float(rng.uniform(0, 10)),
        outline=float(rng.choice([0.0, 0.0, 0.006, 0.012])),
        ink=(240, 236, 226) if dark else _hls(rng.uniform(0.55, 0.7), rng.uniform(0.08, 0.2), 0.3),
        pixel=int(rng.choice([0, 0, 0, 16, 24, 32])),
        blur=float(rng.choice([0.0, 0.0, 0.004, 0.01])),
        saturation=float(rng.uniform(0.75, 1.1)),
        lightness=float(rng.uniform(-0.06, 0.06)),
    )


def random_scene(rng: np.random.Generator, colours: tuple[str, ...] = tuple(COLOURS)) -> Scene:
    """A scene with one main subject, its colour, maybe a place and a time of day, captioned.

    Every colour is one of `colours`, so a palette can be imposed on a set of scenes."""
    kind = rng.random()
    if kind < 0.55:
        return _object_scene(rng, colours)
    if kind < 0.9:
        return _landscape_scene(rng, str(rng.choice([*GROUNDS, *SKY_SUBJECTS])), colours)
    colour = str(rng.choice(colours))
    return Scene("stripes", colour, None, None, (), f"{colour} stripes")


def _colour_of(
    subject: str, rng: np.random.Generator, colours: tuple[str, ...], usual: float
) -> str:
    """The subject's usual colour with probability `usual` (if the palette has it), else any."""
    if subject in _USUAL and _USUAL[subject] in colours and rng.random() < usual:
        return _USUAL[subject]
    return str(rng.choice(colours))


def _object_scene(
    rng: np.random.Generator, colours: tuple[str, ...], grounded: bool = True
) -> Scene:
    """One object, maybe placed; when `grounded`, sometimes over a landscape at a time of day."""
    subject = str(rng.choice(OBJECTS))
    colour = str(rng.choice(colours))
    place = str(rng.choice(list(PLACES)))
    words = [_named(subject, colour)]
    if rng.random() < 0.85:
        words.append(place)
    extras: tuple[tuple[str, str], ...] = ()
    time = None
    if grounded and rng.random() < 0.4:
        ground = str(rng.choice(GROUNDS))
        ground_colour = _colour_of(ground, rng, colours, usual=0.6)
        time = str(rng.choice(TIMES))
        extras = (("sky", "blue"), (ground, ground_colour))
        words += ["over", _named(ground, ground_colour), f"at {time}"]
    return Scene(subject, colour, place, time, extras, " ".join(words))


def _landscape_scene(rng: np.random.Generator, subject: str, colours: tuple[str, ...]) -> Scene:
    time = str(rng.choice(TIMES))
    colour = _colour_of(subject, rng, colours, usual=0.4)
    extras: list[tuple[str, str]] = []
    words = [_named(subject, colour)]
    if subject != "sky":
        extras.append(("sky", "blue"))
    if subject in GROUNDS and rng.random() < 0.6:
        light = "moon" if time == "night" else "sun"
        light_colour = _colour_of(light, rng, colours, usual=0.6)
        extras.append((light, light_colour))
        words = [_named(light, light_colour), "over", words[0]]
    words.append(f"at {time}")
    return Scene(subject, colour, None, time, tuple(extras), " ".join(words))


def _named(subject: str, colour: str) -> str:
    if subject in _PLURAL:
        return f"{colour} {subject}"
    article = "an" if colour[0] in "aeiou" else "a"
    return f"{article} {colour} {subject}"


def scene_corpus(count: int, size: int = 128, seed: int = 0) -> list[tuple[Image.Image, str, str]]:
    """`count` (picture, caption, main subject) triples, each in a look of its own."""
    return [scene_picture(seed, index, size) for index in range(count)]


def scene_picture(seed: int, index: int, size: int = 128) -> tuple[Image.Image, str, str]:
    """Picture `index` of corpus `seed`: (picture, caption, main subject)."""
    rng = np.random.default_rng([31, seed, index])
    scene = random_scene(rng)
    look = scene_look(int(rng.integers(1 << 30)))
    return render_scene(scene, look, rng, size), scene.caption, scene.subject


def render_scene(
    scene: Scene, look: SceneLook, rng: np.random.Generator, size: int = 128, height: int = 0
) -> Image.Image:
    """Paints `scene` in `look` at `size` x `height` (square when height is 0)."""
    width, height = size, height or size
    canvas = np.empty((height, width, 3), dtype=np.float32)
    canvas[:] = look.paper
    layers = [(name, colour) for name, colour in scene.extras]
    layers.append((scene.subject, scene.colour))
    for name, colour_name in _in_depth_order(layers):
        colour = _looked(_sky_or(colour_name, name, scene.time), look, rng)
        if name == "sky":
            _paint_sky(canvas, scene.time or "day", colour_name, look, rng)
            continue
        main = name == scene.subject
        place = PLACES[scene.place] if main and scene.place else None
        mask = _subject_mask(name, rng, width, height, place, scene)
        _paint(canvas, mask, colour, look, rng)
        if name in ("tree", "flower") and main:
            stem = _stem_mask(name, mask, width, height)
            _paint(
                canvas,
                stem,
                _looked(COLOURS["brown" if name == "tree" else "green"], look, rng),
                look,
                rng,
            )
    image = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
    if look.blur:
        image = image.filter(ImageFilter.GaussianBlur(look.blur * width))
    if look.pixel:
        blocks = (look.pixel, max(1, round(look.pixel * height / width)))
        image = image.resize(blocks, Image.Resampling.BOX).resize(
            (width, height), Image.Resampling.NEAREST
        )
    return _with_grain(image, look.grain, rng)


_DEPTH = {"sky": 0, "stars": 1, "sun": 1, "moon": 1, "clouds": 2}


def _in_depth_order(layers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted(layers, key=lambda layer: _DEPTH.get(layer[0], 3))


def _sky_or(colour_name: str, name: str, time: str | None) -> Colour:
    return COLOURS[colour_name]


def _looked(colour: Colour, look: SceneLook, rng: np.random.Generator) -> Colour:
    hue, lightness, saturation = colorsys.rgb_to_hls(*(c / 255 for c in colour))
    lightness += look.lightness + rng.uniform(-0.04, 0.04)
    return _hls(hue + rng.uniform(-0.015, 0.015), lightness, min(1.0, saturation * look.saturation))


def _paint_sky(
    canvas: np.ndarray, time: str, colour_name: str, look: SceneLook, rng: np.random.Generator
) -> None:
    """A vertical gradient; a named sky colour other than blue tints the time of day's sky."""
    top, horizon = (np.array(c, dtype=np.float32) for c in _SKIES[time])
    if colour_name != "blue":
        tint = np.array(COLOURS[colour_name], dtype=np.float32)
        top, horizon = top * 0.3 + tint * 0.7, horizon * 0.3 + tint * 0.7
    height = canvas.shape[0]
    ramp = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    sky = top * (1 - ramp) + horizon * ramp
    cover = 0.9 if look.fill != "crayon" else 0.75
    canvas[:] = canvas * (1 - cover) + sky * cover


def _subject_mask(
    name: str,
    rng: np.random.Generator,
    width: int,
    height: int,
    place: tuple[float, float] | None,
    scene: Scene,
) -> np.ndarray:
    """A float mask in [0, 1] of where `name` is, drawn with PIL at the picture's size."""
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    side = min(width, height)
    if name in OBJECTS:
        if place is None:
            top_half = name in ("sun", "moon") and scene.subject != name
            place = (
                rng.uniform(0.2, 0.8),
                rng.uniform(0.15, 0.35) if top_half else rng.uniform(0.25, 0.75),
            )
        cx = (place[0] + rng.normal(0, 0.03)) * width
        cy = (place[1] + rng.normal(0, 0.03)) * height
        radius = side * (
            rng.uniform(0.15, 0.24) if scene.subject == name else rng.uniform(0.08, 0.12)
        )
        _OBJECT_SHAPES[name](draw, rng, cx, cy, radius)
    else:
        _AREA_SHAPES[name](draw, rng, width, height)
    return np.asarray(mask, dtype=np.float32) / 255.0


def _circle(draw, rng, cx, cy, r) -> None:
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)


def _square(draw, rng, cx, cy, r) -> None:
    r *= 0.9
    draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=255)


def _triangle(draw, rng, cx, cy, r) -> None:
    draw.polygon(
        [(cx, cy - r), (cx + r * 1.1, cy + r * 0.8), (cx - r * 1.1, cy + r * 0.8)], fill=255
    )


def _sun(draw, rng, cx, cy, r) -> None:
    core = r * 0.7
    draw.ellipse([cx - core, cy - core, cx + core, cy + core], fill=255)
    for k in range(10):
        angle = 2 * math.pi * k / 10
        inner, outer = core * 1.2, r * 1.25
        draw.line(
            [
                (cx + inner * math.cos(angle), cy + inner * math.sin(angle)),
                (cx + outer * math.cos(angle), cy + outer * math.sin(angle)),
            ],
            fill=255,
            width=max(1, round(r * 0.15)),
        )


def _moon(draw, rng, cx, cy, r) -> None:
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    shift = r * 0.55
    draw.ellipse(
        [cx - r + shift, cy - r - shift * 0.3, cx + r + shift, cy + r - shift * 0.3], fill=0
    )


def _flower(draw, rng, cx, cy, r) -> None:
    petal = r * 0.42
    for k in range(6):
        angle = 2 * math.pi * k / 6
        px, py = cx + r * 0.55 * math.cos(angle), cy - r * 0.3 + r * 0.55 * math.sin(angle)
        draw.ellipse([px - petal, py - petal, px + petal, py + petal], fill=255)


def _tree(draw, rng, cx, cy, r) -> None:
    crown = r * 0.85
    draw.ellipse([cx - crown, cy - r * 1.1, cx + crown, cy + r * 0.45], fill=255)


def _house(draw, rng, cx, cy, r) -> None:
    draw.rectangle([cx - r * 0.85, cy - r * 0.2, cx + r * 0.85, cy + r], fill=255)
    draw.polygon(
        [(cx - r * 1.05, cy - r * 0.2), (cx + r * 1.05, cy - r * 0.2), (cx, cy - r * 1.05)],
        fill=255,
    )


def _boat(draw, rng, cx, cy, r) -> None:
    draw.polygon(
        [
            (cx - r * 1.2, cy + r * 0.2),
            (cx + r * 1.2, cy + r * 0.2),
            (cx + r * 0.8, cy + r * 0.7),
            (cx - r * 0.8, cy + r * 0.7),
        ],
        fill=255,
    )
    draw.polygon([(cx, cy - r * 1.1), (cx, cy + r * 0.1), (cx + r * 0.8, cy + r * 0.1)], fill=255)


_OBJECT_SHAPES = {
    "sun": _sun,
    "moon": _moon,
    "circle": _circle,
    "square": _square,
    "triangle": _triangle,
    "flower": _flower,
    "tree": _tree,
    "house": _house,
    "boat": _boat,
}


def _stem_mask(name: str, crown: np.ndarray, width: int, height: int) -> np.ndarray:
    """A trunk or stem under the crown or petals of `crown`."""
    rows, cols = np.nonzero(crown > 0.5)
    mask = Image.new("L", (width, height), 0)
    if rows.size:
        cx, bottom = float(cols.mean()), float(rows.max())
        reach = (rows.max() - rows.min()) * 0.5
        half = max(1.0, (cols.max() - cols.min()) * 0.08)
        ImageDraw.Draw(mask).rectangle(
            [cx - half, bottom - reach * 0.3, cx + half, bottom + reach], fill=255
        )
    stem = np.asarray(mask, dtype=np.float32) / 255.0
    return stem * (crown < 0.5)


def _horizon(rng: np.random.Generator, height: int) -> float:
    return height * rng.uniform(0.5, 0.62)


def _sea(draw, rng, width, height) -> None:
    top = _horizon(rng, height)
    draw.rectangle([0, top, width, height], fill=255)


def _lake(draw, rng, width, height) -> None:
    cy = height * rng.uniform(0.7, 0.8)
    rx, ry = width * rng.uniform(0.3, 0.45), height * rng.uniform(0.1, 0.17)
    cx = width * rng.uniform(0.4, 0.6)
    draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=255)


def _hills(draw, rng, width, height) -> None:
    for layer in range(2):
        base = _horizon(rng, height) + layer * height * 0.1
        x = np.linspace(0, width, 33)
        phase = rng.uniform(0, 2 * math.pi)
        y = base + height * 0.07 * np.sin(2 * math.pi * x / width * rng.uniform(0.8, 1.6) + phase)
        draw.polygon(
            [(0, height), *zip(x.tolist(), y.tolist(), strict=True), (width, height)], fill=255
        )


def _mountains(draw, rng, width, height) -> None:
    peaks = int(rng.integers(2, 5))
    base = height * rng.uniform(0.62, 0.72)
    for k in range(peaks):
        cx = width * (k + rng.uniform(0.3, 0.7)) / peaks
        half = width * rng.uniform(0.2, 0.32)
        top = height * rng.uniform(0.2, 0.38)
        draw.polygon([(cx - half, base), (cx, top), (cx + half, base)], fill=255)
    draw.rectangle([0, base, width, height], fill=255)


def _forest(draw, rng, width, height) -> None:
    base = height * rng.uniform(0.66, 0.74)
    draw.rectangle([0, base, width, height], fill=255)
    for k in range(int(rng.integers(7, 12))):
        cx = width * (k + rng.uniform(0.2, 0.8)) / 9
        half, tall = width * rng.uniform(0.05, 0.08), height * rng.uniform(0.2, 0.32)
        draw.polygon([(cx - half, base + 2), (cx, base - tall), (cx + half, base + 2)], fill=255)


def _road(draw, rng, width, height) -> None:
    horizon = _horizon(rng, height)
    vanish = width * rng.uniform(0.4, 0.6)
    draw.polygon(
        [
            (vanish - width * 0.02, horizon),
            (vanish + width * 0.02, horizon),
            (width * 0.8, height),
            (width * 0.2, height),
        ],
        fill=255,
    )


def _clouds(draw, rng, width, height) -> None:
    for _ in range(int(rng.integers(2, 4))):
        cx, cy = width * rng.uniform(0.15, 0.85), height * rng.uniform(0.12, 0.4)
        for _ in range(4):
            rx, ry = width * rng.uniform(0.06, 0.12), height * rng.uniform(0.04, 0.07)
            x, y = cx + rng.normal(0, width * 0.05), cy + rng.normal(0, height * 0.02)
            draw.ellipse([x - rx, y - ry, x + rx, y + ry], fill=255)


def _stars(draw, rng, width, height) -> None:
    for _ in range(int(rng.integers(14, 30))):
        x, y = width * rng.uniform(0.03, 0.97), height * rng.uniform(0.03, 0.6)
        r = min(width, height) * rng.uniform(0.012, 0.025)
        draw.polygon(
            [
                (x, y - 2 * r),
                (x + r * 0.5, y - r * 0.5),
                (x + 2 * r, y),
                (x + r * 0.5, y + r * 0.5),
                (x, y + 2 * r),
                (x - r * 0.5, y + r * 0.5),
                (x - 2 * r, y),
                (x - r * 0.5, y - r * 0.5),
            ],
            fill=255,
        )


def _stripes(draw, rng, width, height) -> None:
    bands = int(rng.integers(4, 9))
    vertical = rng.random() < 0.5
    length = width if vertical else height
    step = length / bands
    for k in range(0, bands, 2):
        start = k * step
        box = [start, 0, start + step, height] if vertical else [0, start, width, start + step]
        draw.rectangle(box, fill=255)


_AREA_SHAPES = {
    "sea": _sea,
    "lake": _lake,
    "hills": _hills,
    "mountains": _mountains,
    "forest": _forest,
    "road": _road,
    "clouds": _clouds,
    "stars": _stars,
    "stripes": _stripes,
}


def _paint(
    canvas: np.ndarray, mask: np.ndarray, colour: Colour, look: SceneLook, rng: np.random.Generator
) -> None:
    """Lays `colour` through `mask` with the look's fill, then its ink outline."""
    height, width = mask.shape
    cover = _FILL_TEXTURES[look.fill](rng, width, height) * mask
    canvas[:] = (
        canvas * (1 - cover[..., None]) + np.array(colour, dtype=np.float32) * cover[..., None]
    )
    if look.outline:
        size = max(3, 2 * round(look.outline * width) + 1)
        binary = Image.fromarray((mask > 0.5).astype(np.uint8) * 255)
        grown = np.asarray(binary.filter(ImageFilter.MaxFilter(size)), dtype=np.float32) / 255.0
        edge = np.clip(grown - mask, 0, 1)[..., None]
        canvas[:] = canvas * (1 - edge) + np.array(look.ink, dtype=np.float32) * edge


def _flat(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    return np.ones((height, width), dtype=np.float32)


def _wash_texture(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    noise = _smooth_noise(rng, max(width, height), cells=8)[:height, :width]
    return 0.65 + 0.3 * noise


def _crayon(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Waxy strokes at one slant: paper shows between them."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    period = max(2.0, width / rng.uniform(30, 50))
    slant = rng.uniform(0.5, 1.5)
    bands = 0.5 + 0.5 * np.sin((xx + slant * yy) / period * 2 * math.pi)
    speckle = rng.random((height, width)).astype(np.float32)
    return np.clip(0.45 + 0.45 * bands + 0.25 * (speckle - 0.5), 0, 1)


def _dots_texture(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    period = max(3.0, width / rng.uniform(24, 40))
    dots = (np.sin(xx / period * 2 * math.pi) + np.sin(yy / period * 2 * math.pi)) > -0.4
    return dots.astype(np.float32) * 0.9 + 0.1


def _hatch_texture(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    period = max(3.0, width / rng.uniform(25, 45))
    lines = np.sin((xx - yy) / period * 2 * math.pi) > -0.3
    return lines.astype(np.float32) * 0.85 + 0.15


_FILL_TEXTURES = {
    "flat": _flat,
    "wash": _wash_texture,
    "crayon": _crayon,
    "dots": _dots_texture,
    "hatch": _hatch_texture,
}


# --- The demo styles: three clearly different looks over the same kind of scenes --------------

PIXEL_LOOK = SceneLook(
    fill="flat",
    paper=(24, 28, 56),
    grain=0.0,
    outline=0.0,
    ink=(0, 0, 0),
    pixel=24,
    blur=0.0,
    saturation=1.1,
    lightness=0.04,
)
CRAYON_LOOK = SceneLook(
    fill="crayon",
    paper=(226, 206, 164),
    grain=14.0,
    outline=0.0,
    ink=(40, 40, 40),
    pixel=0,
    blur=0.0,
    saturation=1.0,
    lightness=0.0,
)
# Each look keeps to a palette of its own, so a style's colours are part of what it teaches.
PIXEL_COLOURS = ("orange", "pink", "purple", "yellow")
CRAYON_COLOURS = ("red", "orange", "pink")


@dataclass(frozen=True)
class DemoStyle:
    """A demo style `stylevault demo` publishes: its works come from `paint(count, size, seed)`."""

    key: str
    trigger: str
    paint: Callable[[int, int, int], list[tuple[Image.Image, str]]]


def look_artworks(
    look: SceneLook, colours: tuple[str, ...], count: int = 12, size: int = 512, seed: int = 0
) -> list[tuple[Image.Image, str]]:
    """`count` captioned pictures of single objects on the look's paper, in one palette: one
    artist's consistent set."""
    works = []
    for index in range(count):
        rng = np.random.default_rng([37, seed, index])
        scene = _object_scene(rng, colours, grounded=False)
        works.append((render_scene(scene, look, rng, size), scene.caption))
    return works


def pixel_artworks(
    count: int = 12, size: int = 512, seed: int = 0
) -> list[tuple[Image.Image, str]]:
    return look_artworks(PIXEL_LOOK, PIXEL_COLOURS, count, size, seed + 1000)


def crayon_artworks(
    count: int = 12, size: int = 512, seed: int = 0
) -> list[tuple[Image.Image, str]]:
    return look_artworks(CRAYON_LOOK, CRAYON_COLOURS, count, size, seed + 2000)


DEMO_STYLES = (
    DemoStyle("ink", DEMO_TRIGGER, demo_artworks),
    DemoStyle("pixel", "svpixel style", pixel_artworks),
    DemoStyle("crayon", "svcrayon style", crayon_artworks),
)
