"""The shared rules behind the abuse suite, in-process: configuration, text, usernames, the
pixel budget of image checks."""

from __future__ import annotations

import io
import threading
import time

import pytest
from PIL import Image

from stylevault.core import errors, imaging
from stylevault.core.config import ConfigError, load
from stylevault.core.text import clean_text
from tests.security.conftest import png_bytes


def test_trusted_proxies_and_body_limits_come_from_the_environment(tmp_path):
    config = load(
        {
            "STYLEVAULT_DATA_DIR": str(tmp_path),
            "STYLEVAULT_TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/16",
            "STYLEVAULT_MAX_JSON_MB": "0.5",
        }
    )
    assert config.trusted_proxies == ["10.0.0.5", "10.1.0.0/16"]
    assert config.body_limits == {"json": 512 * 1024, "upload": 1100 << 20, "verify": 21 << 20}
    assert load({"STYLEVAULT_DATA_DIR": str(tmp_path)}).trusted_proxies == []
    with pytest.raises(ConfigError) as caught:
        load(
            {
                "STYLEVAULT_DATA_DIR": str(tmp_path),
                "STYLEVAULT_TRUSTED_PROXIES": "proxy.internal",
                "STYLEVAULT_MAX_UPLOAD_MB": "lots",
                "STYLEVAULT_RATE_LOGIN_ACCOUNT": "often",
            }
        )
    problems = "\n".join(caught.value.problems)
    for name in ("TRUSTED_PROXIES", "MAX_UPLOAD_MB", "RATE_LOGIN_ACCOUNT"):
        assert f"STYLEVAULT_{name}" in problems


def test_serve_believes_forwarded_headers_only_from_trusted_proxies(settings):
    from stylevault.ops.management.commands.serve import proxy_options

    settings.STYLEVAULT_TRUSTED_PROXIES = []
    assert proxy_options()["proxy_headers"] is False
    settings.STYLEVAULT_TRUSTED_PROXIES = ["10.0.0.5"]
    assert proxy_options() == {"proxy_headers": True, "forwarded_allow_ips": ["10.0.0.5"]}


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("Ink\u202egpj.exe", "Inkgpj.exe"),
        ("\u2066sea\u2069 \u200bboat\ufeff", "sea boat"),
        ("bell\x07 and\x1b[31m red", "bell and[31m red"),
        ("two\nlines\tand tabs", "two\nlines\tand tabs"),
        ("<b>bold</b> 한국어", "bold 한국어"),
    ],
)
def test_clean_text_drops_invisible_controls(written, kept):
    assert clean_text(written) == kept


def test_clean_text_can_keep_what_looks_like_tags():
    assert clean_text("a <b> c\u202e", tags=False) == "a <b> c"


@pytest.mark.parametrize(
    ("existing", "new"),
    [
        ("demo-artist", "dem0_artist"),
        ("demo-artist", "ｄｅｍｏ-artist"),
        ("william", "wi11iam"),
        ("morn", "mom"),
        ("alice", "ALICE"),
    ],
)
@pytest.mark.django_db
def test_a_look_alike_of_an_existing_name_is_taken(existing, new):
    from stylevault.accounts import services

    services.sign_up(username=existing, password="a long unusual passphrase 7")
    with pytest.raises(errors.Conflict):
        services.sign_up(username=new, password="a long unusual passphrase 7")


@pytest.mark.django_db
def test_distinct_names_and_full_width_letters_are_welcome():
    from stylevault.accounts import services

    services.sign_up(username="demo-artist", password="a long unusual passphrase 7")
    user = services.sign_up(username="ｎｅｗ-artist", password="a long unusual passphrase 7")
    assert user.username == "new-artist"
    with pytest.raises(errors.ValidationFailed):
        services.sign_up(username="bоb", password="a long unusual passphrase 7")  # Cyrillic о


class _Upload(io.BytesIO):
    name = "upload.png"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_the_analysed_picture_is_bounded_and_the_check_unchanged(fmt):
    data = io.BytesIO()
    Image.new("RGB", (4000, 3000), (200, 30, 30)).save(data, fmt)
    checked = imaging.check_image(
        _Upload(data.getvalue()), max_bytes=20 << 20, formats=(fmt,), analysis_side=1000
    )
    assert (checked.width, checked.height) == (4000, 3000)  # as uploaded
    assert checked.picture.mode == "RGB" and max(checked.picture.size) <= 1000
    assert checked.picture.getpixel((10, 10))[0] > 150
    plain = imaging.check_image(_Upload(data.getvalue()), max_bytes=20 << 20, formats=(fmt,))
    assert plain.picture is None


def test_heavy_image_work_runs_a_few_at_a_time(monkeypatch):
    monkeypatch.setattr(imaging, "_slots", threading.BoundedSemaphore(2))
    running, most = [0], [0]
    lock = threading.Lock()

    def work() -> None:
        with imaging.heavy_work(), imaging.heavy_work():  # re-entrant in one thread
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 2


def test_a_picture_over_the_pixel_cap_is_refused_before_decoding():
    with pytest.raises(errors.ValidationFailed, match="too many pixels"):
        imaging.check_image(_Upload(png_bytes(7000, 7000)), max_bytes=20 << 20, analysis_side=2048)
