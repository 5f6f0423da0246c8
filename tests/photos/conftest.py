"""Photo studio fixtures: real photographs bundled in scikit-image's wheel (no download), made
into portraits with one face, two, none, or one too small to use."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.generation.conftest import buyer, published_style  # noqa: F401 (fixtures)


def astronaut() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut())  # Eileen Collins: one face, 512×512


def no_face() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.coffee())


def two_faces() -> Image.Image:
    one = astronaut()
    canvas = Image.new("RGB", (1024, 512))
    canvas.paste(one, (0, 0))
    canvas.paste(one.transpose(Image.Transpose.FLIP_LEFT_RIGHT), (512, 0))
    return canvas


def small_face() -> Image.Image:
    """The astronaut's head at about 6 % of the picture, on the coffee photograph."""
    head = astronaut().crop((100, 0, 356, 256)).resize((175, 175))
    canvas = no_face().resize((1600, 1200))
    canvas.paste(head, (700, 300))
    return canvas


def jpeg_with_gps(image: Image.Image, *, orientation: int = 1) -> bytes:
    """A JPEG carrying EXIF with a GPS position (and an orientation tag), as phones write."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (37.0, 33.0, 59.0)  # GPSLatitudeRef, GPSLatitude
    gps[3], gps[4] = "E", (126.0, 58.0, 40.0)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif, quality=92)
    return buffer.getvalue()


@pytest.fixture
def upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    def make(data: bytes, name: str = "me.jpg", content_type: str = "image/jpeg"):
        return SimpleUploadedFile(name, data, content_type=content_type)

    return make
