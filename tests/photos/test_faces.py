"""The real face detector (BlazeFace full range, LiteRT) on real photographs."""

from __future__ import annotations

import hashlib

from stylevault.engine import faces
from tests.photos.conftest import astronaut, no_face, small_face, two_faces


def test_the_bundled_model_is_the_one_recorded():
    assert hashlib.sha256(faces.MODEL_PATH.read_bytes()).hexdigest() == faces.MODEL_SHA256


def test_one_face_is_accepted_with_its_box():
    result = faces.check_one_face(astronaut())
    assert result.verdict == "ok"
    (face,) = result.faces
    x, y, w, h = face.box
    # Her face is around (170-280, 60-175) in the 512×512 photograph.
    assert 140 < x < 200 and 40 < y < 100 and 80 < w < 140 and 80 < h < 140


def test_two_faces_none_and_a_small_one_are_refused_with_their_reason():
    assert faces.check_one_face(two_faces()).verdict == "multiple_faces"
    assert len(faces.check_one_face(two_faces()).faces) == 2
    assert faces.check_one_face(no_face()).verdict == "no_face"
    small = faces.check_one_face(small_face())
    assert small.verdict == "face_too_small"
    assert small.faces[0].w < 0.1 * 1200


def test_boxes_are_in_the_pixels_of_the_checked_image():
    big = astronaut().resize((3000, 3000))
    (face,) = faces.detect_faces(big, min_score=0.5)
    assert 900 < face.x < 1200 and 500 < face.w < 850
