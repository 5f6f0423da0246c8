"""Provenance pages: an image's printable certificate (event chain, inclusion proof, signed tree
head), the certificate by watermark mark for anyone, and the public verify page; one test runs
the whole way from a trained style to a verified download."""

from __future__ import annotations

import io

import pytest
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as Picture

from stylevault.generation.models import GenerationStyle, Image
from stylevault.ledger import services as ledger
from stylevault.provenance.models import EventKind
from stylevault.provenance.services import record_event
from tests.community.factories import make_image, make_style
from tests.conftest import run_jobs
from tests.generation.conftest import train_style
from tests.web.browsing import Browser

pytestmark = pytest.mark.django_db

TRAINING_SHA = "ab" * 32
MODEL_SHA = "cd" * 32


def logged(image: Image) -> Image:
    """Records the blend and the events a delivered image has behind it: training data,
    model, purchase, the image itself."""
    style, generation = image.style, image.generation
    GenerationStyle.objects.create(
        generation=generation,
        style=style,
        artist=style.artist,
        weight=1,
        price_per_image=style.price_per_image,
    )
    record_event(
        kind=EventKind.TRAINING_DATA_UPLOADED,
        subject=style,
        actor=style.artist,
        payload={"style_id": style.pk, "files": [{"name": "w0.png", "sha256": TRAINING_SHA}]},
    )
    record_event(
        kind=EventKind.LORA_TRAINED,
        subject=style,
        actor=style.artist,
        payload={"style_id": style.pk, "model_sha256": MODEL_SHA},
    )
    record_event(
        kind=EventKind.LICENSE_BOUGHT,
        subject=generation,
        actor=image.owner,
        payload={"generation_id": generation.pk, "credits": 5},
    )
    record_event(
        kind=EventKind.IMAGE_GENERATED,
        subject=image,
        actor=image.owner,
        payload={"image_id": image.pk, "output_sha256": image.sha256},
    )
    return image


@pytest.fixture
def style(make_user):
    return make_style(make_user("painter", artist=True), name="Ink hills")


@pytest.fixture
def private_image(style, make_user):
    return logged(make_image(make_user("owner"), style, public=False))


def test_certificate_shows_the_chain_and_the_proof(private_image):
    browser = Browser(private_image.owner)
    html = browser.page(f"/en/images/{private_image.pk}/certificate/")
    assert 'data-test="certificate"' in html and "Ink hills by painter" in html
    assert f'src="/api/v1/images/{private_image.pk}/file"' in html
    assert "StyleVault standard licence, per image, granted to owner" in html
    kinds = [
        "Training data uploaded",
        "Style model trained",
        "Licence bought",
        "Image generated",
    ]
    positions = [html.index(f'data-test="event-kind">{kind}<') for kind in kinds]
    assert positions == sorted(positions)  # oldest first
    assert TRAINING_SHA in html and MODEL_SHA in html and private_image.sha256 in html
    assert 'data-test="leaf-hash"' in html and 'data-test="root-hash"' in html
    assert 'data-test="tree-head"' in html and "Signature (Ed25519)" in html
    assert "provenance/print.css" in html and finders.find("provenance/print.css")
    assert "provenance/print.js" in html and finders.find("provenance/print.js")
    korean = browser.page(f"/ko/images/{private_image.pk}/certificate/")
    assert "이벤트 체인" in korean and "포함 증명" in korean and "서명된 트리 헤드" in korean


def test_certificate_follows_the_images_visibility(private_image, style, make_user):
    path = f"/en/images/{private_image.pk}/certificate/"
    Browser().page(path, status=404)
    Browser(make_user("nosy")).page(path, status=404)
    public = logged(make_image(make_user("other"), style, public=True))
    assert 'data-test="certificate"' in Browser().page(f"/en/images/{public.pk}/certificate/")


def test_certificate_by_mark_for_whoever_holds_the_file(private_image):
    mark = f"{private_image.mark:012x}"
    html = Browser().page(f"/en/certificates/{mark}/")
    assert 'data-test="certificate"' in html and TRAINING_SHA in html
    assert f"/api/v1/images/{private_image.pk}/file" not in html  # a private image stays hidden
    # The address in every image's Content Credentials, without language or slash, lands here.
    followed = Browser().get(f"/certificates/{mark}", follow=True)
    assert followed.status_code == 200 and followed.redirect_chain[-1][0].endswith(f"/{mark}/")
    for bad in ("ffffffffffff", "xyz", "0" * 13):
        Browser().page(f"/en/certificates/{bad}/", status=404)


def test_verify_page_refuses_bad_files_and_says_not_made_here():
    browser = Browser()
    html = browser.page("/ko/verify/")
    assert 'data-test="verify-form"' in html and "이미지 확인" in html
    broken = SimpleUploadedFile("notes.png", b"just some text, not a picture")
    refused = browser.submit("/en/verify/", {"image": broken})
    assert refused.status_code == 400 and "notes.png" in refused.content.decode()
    buffer = io.BytesIO()
    Picture.new("RGB", (96, 64), (200, 30, 30)).save(buffer, format="PNG")
    stranger = SimpleUploadedFile("holiday.png", buffer.getvalue())
    answer = browser.submit("/ko/verify/", {"image": stranger})
    assert answer.status_code == 200
    assert 'data-test="no-match"' in answer.content.decode()
    assert "여기서 만든 이미지가 아닙니다" in answer.content.decode()
    forged = Browser().post("/en/verify/", {"image": broken})
    assert forged.status_code == 403


@pytest.mark.django_db(transaction=True)
def test_a_generated_image_verifies_back_to_its_training_data(fast_engine, make_artist, make_user):
    style = train_style(make_artist("painter"))
    buyer = make_user("buyer")
    ledger.grant_credits(user=buyer, amount=50, reason="test credits")
    browser = Browser(buyer)
    fields = {"prompt": "a lighthouse", "aspect_ratio": "1:1", "steps": 3, "idempotency_key": "k"}
    created = browser.submit(f"/en/styles/{style.pk}/generate/", fields)
    assert run_jobs("generation") == ["succeeded"]
    page = browser.page(created["Location"])
    image = Image.objects.get()
    assert 'data-test="generation-status">Succeeded<' in page and "data-events" not in page
    assert f'src="/api/v1/images/{image.pk}/file"' in page

    data = b"".join(browser.get(f"/api/v1/images/{image.pk}/file").streaming_content)
    visitor = Browser()
    answer = visitor.submit("/en/verify/", {"image": SimpleUploadedFile("copy.png", data)})
    html = answer.content.decode()
    assert answer.status_code == 200 and 'data-test="match"' in html
    assert "Training data uploaded" in html and html.count('data-test="file-sha256"') == 10
    assert f"/api/v1/images/{image.pk}/file" not in html  # the visitor may not see it
    certificate = visitor.get(f"/certificates/{image.mark:012x}", follow=True)
    assert certificate.status_code == 200
    assert 'data-test="certificate"' in certificate.content.decode()
