"""Style pages: search, a style's page with the generator (cost preview, submit, progress
panel), the artist's live status and check report, creating a style, my styles; English and
Korean. Rows come from the ORM and the services: nothing is trained here."""

from __future__ import annotations

import io

import pytest
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from stylevault.generation.models import Generation
from stylevault.jobs import services as jobs
from stylevault.ledger import services as ledger
from stylevault.ledger.selectors import wallet_of
from stylevault.styles.models import SampleImage, Style, StyleStatus
from tests.community.factories import make_style
from tests.web.browsing import Browser

pytestmark = pytest.mark.django_db


@pytest.fixture
def artist(make_user):
    return make_user("painter", artist=True)


@pytest.fixture
def ink(artist):
    style = make_style(artist, name="Ink hills", tags=("ink", "landscape"), price=5)
    SampleImage.objects.create(
        style=style, position=0, prompt="a red house", path="s.png", width=64, height=64
    )
    return style


@pytest.fixture
def buyer(make_user):
    user = make_user("buyer")
    ledger.grant_credits(user=user, amount=100, reason="test credits")
    return user


def png(name: str, *, size: int = 512, shade: int = 0) -> SimpleUploadedFile:
    picture = Image.new("RGB", (size, size), (shade, 90, 160))
    ImageDraw.Draw(picture).ellipse((shade % 200, 40, 300, 300 + shade % 100), fill="white")
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


# -- search -----------------------------------------------------------------------------------


def test_search_by_tags_and_words(ink, artist):
    make_style(artist, name="Neon city", tags=("neon",))
    browser = Browser()
    html = browser.page("/en/styles/?tags=ink")
    assert "Ink hills" in html and "Neon city" not in html
    assert f'src="/api/v1/styles/{ink.pk}/samples/0"' in html
    assert f'href="/en/artists/{artist.pk}/"' in html and "5 credits per image" in html
    assert html.count('data-test="popular-tag"') == 3
    assert 'href="?tags=ink%2Cneon"' in html and 'class="tag active" href="?"' in html
    words = browser.page("/en/styles/?q=neon")
    assert "Neon city" in words and "Ink hills" not in words
    assert 'data-test="no-styles"' in browser.page("/en/styles/?tags=ink,neon")


def test_search_in_korean_and_its_errors(ink):
    html = Browser().page("/ko/styles/")
    assert "인기 태그" in html and "이미지당 5크레딧" in html
    too_many = ",".join(f"t{i}" for i in range(11))
    refused = Browser().get(f"/ko/styles/?tags={too_many}")
    assert refused.status_code == 400 and "태그는 최대 10개까지" in refused.content.decode()


# -- a style's page and its generator -----------------------------------------------------------


def test_style_page_for_visitors_and_buyers(ink, artist, buyer, make_user):
    anonymous = Browser().page(f"/en/styles/{ink.pk}/")
    assert 'data-test="login-prompt"' in anonymous and 'id="generator"' not in anonymous
    assert f"/en/login/?next=/en/styles/{ink.pk}/" in anonymous
    assert f'href="/en/artists/{artist.pk}/"' in anonymous and "landscape" in anonymous
    assert "generation/progress.js" in anonymous and finders.find("generation/progress.js")

    html = Browser(buyer).page(f"/ko/styles/{ink.pk}/")
    assert 'id="generator"' in html and 'id="idempotency-key"' in html
    assert "이 스타일로 생성하기" in html and "다른 스타일과 블렌드" in html
    assert all(f'value="{ratio}"' in html for ratio in ("1:1", "4:3", "3:4", "16:9", "9:16"))

    hidden = make_style(artist, name="Secret", status=StyleStatus.TRAINING)
    Browser(make_user("nosy")).page(f"/en/styles/{hidden.pk}/", status=404)
    Browser().page(f"/en/styles/{hidden.pk}/", status=404)


def test_cost_preview_comes_from_the_service(ink, artist, buyer):
    other = make_style(artist, name="Neon", price=3)
    browser = Browser(buyer)
    quote = f"/en/styles/{ink.pk}/quote/"
    fields = {"prompt": "a lighthouse", "aspect_ratio": "1:1", "count": 2}
    answer = browser.submit(quote, fields, htmx=True)
    assert answer.status_code == 200
    assert "Cost: 10 credits for 2 image(s). You have 100 credits." in answer.content.decode()
    blended = browser.submit(quote, {**fields, "blend-style_1": other.pk}, htmx=True)
    assert "Cost: 8 credits" in blended.content.decode()  # 2 × (5 + 3) / 2, weights equal
    unknown = browser.submit(quote, {**fields, "blend-style_1": 999999}, htmx=True)
    assert "No published style has the id 999999." in unknown.content.decode()
    korean = browser.submit(f"/ko/styles/{ink.pk}/quote/", {"aspect_ratio": "1:1"}, htmx=True)
    assert "프롬프트를 입력하세요" in korean.content.decode()
    assert wallet_of(buyer) == {"balance": 100, "held": 0}  # a quote holds nothing
    anonymous = Browser().submit(quote, fields, htmx=True)
    assert "/en/login/" in anonymous.content.decode()


def test_generate_holds_credits_and_shows_the_progress_panel(ink, buyer):
    browser = Browser(buyer)
    generate = f"/en/styles/{ink.pk}/generate/"
    fields = {"prompt": "a lighthouse", "aspect_ratio": "16:9", "seed": 7, "steps": 3}
    first = browser.submit(generate, {**fields, "idempotency_key": "key-1"})
    generation = Generation.objects.get()
    assert first.status_code == 302 and first["Location"] == f"/en/generations/{generation.pk}/"
    again = browser.submit(generate, {**fields, "idempotency_key": "key-1"})
    assert again["Location"] == first["Location"] and Generation.objects.count() == 1
    assert wallet_of(buyer) == {"balance": 95, "held": 5}

    panel = browser.submit(generate, {**fields, "idempotency_key": "key-2"}, htmx=True)
    html = panel.content.decode()
    newest = Generation.objects.order_by("-pk").first()
    assert panel.status_code == 200 and newest.pk != generation.pk
    assert f'data-events="/api/v1/generations/{newest.pk}/events"' in html
    assert f'action="/en/generations/{newest.pk}/cancel/"' in html
    assert 'id="idempotency-key"' in html and 'hx-swap-oob="true"' in html
    assert 'value="key-2"' not in html  # the next submit gets a new key


def test_generator_errors_in_the_users_language(ink, make_user):
    poor = make_user("poor")
    browser = Browser(poor)
    generate = f"/ko/styles/{ink.pk}/generate/"
    refused = browser.submit(generate, {"prompt": "a lighthouse", "aspect_ratio": "1:1"})
    assert refused.status_code == 400 and "크레딧이 부족합니다" in refused.content.decode()
    inline = browser.submit(generate, {"aspect_ratio": "1:1"}, htmx=True)
    assert inline["HX-Retarget"] == "#generator" and inline["HX-Reswap"] == "outerHTML"
    assert "프롬프트를 입력하세요" in inline.content.decode()
    assert not Generation.objects.exists()
    forged = Browser(poor).post(generate, {"prompt": "x", "aspect_ratio": "1:1"})
    assert forged.status_code == 403  # no CSRF token, no generation


# -- the artist's view of an unpublished style ---------------------------------------------------


def test_owner_follows_training_live(artist, make_user):
    style = make_style(artist, name="Fresh", status=StyleStatus.TRAINING)
    style.training_job = jobs.enqueue(kind="style_training", payload={}, owner=artist)
    style.save(update_fields=["training_job"])
    type(style.training_job).objects.filter(pk=style.training_job_id).update(
        progress={"step": 3, "total": 8, "loss": 0.25}
    )
    browser = Browser(artist)
    html = browser.page(f"/en/styles/{style.pk}/")
    assert 'data-test="status">Training<' in html and 'hx-trigger="every 2s"' in html
    assert "3 / 8" in html and "loss 0.2500" in html and 'id="generator"' not in html
    assert 'data-test="status">학습 중<' in browser.page(f"/ko/styles/{style.pk}/status/")
    partial = browser.get(f"/en/styles/{style.pk}/status/", HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and "HX-Refresh" not in partial
    Style.objects.filter(pk=style.pk).update(status=StyleStatus.PUBLISHED)
    done = browser.get(f"/en/styles/{style.pk}/status/", HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"  # the page reloads with the generator
    Browser(make_user("nosy")).page(f"/en/styles/{style.pk}/status/", status=404)


def test_check_report_in_words(artist, ink, make_artist):
    copier = make_artist("copier")
    flagged = make_style(copier, name="Copy", status=StyleStatus.IN_REVIEW)
    flagged.qa = {
        "flagged": True,
        "reasons": ["duplicate_training_images", "similar_to_published_style"],
        "consistency": {"flagged": False, "dispersion": 0.123456},
        "duplicates": [
            {"file": "work-3.png", "source": "training_image", "style_id": ink.pk, "bits": 2}
        ],
        "similar": [
            {
                "style_id": ink.pk,
                "artist_id": artist.pk,
                "similarity": {"work": 0.97},
                "flagged": True,
            }
        ],
    }
    flagged.save(update_fields=["qa"])
    html = Browser(copier).page(f"/en/styles/{flagged.pk}/")
    assert 'data-test="status">In review<' in html and "every 2s" not in html
    assert "already used by another artist" in html and "very close to a published style" in html
    assert "work-3.png looks like a training work of another artist" in html
    assert "Ink hills</a>:" in html and "97% similar" in html and "too close" in html
    assert "<dt>dispersion</dt><dd>0.123</dd>" in html
    korean = Browser(copier).page(f"/ko/styles/{flagged.pk}/")
    assert "검사 보고서" in korean and "97% 유사" in korean


# -- creating a style -----------------------------------------------------------------------------


def test_create_style_needs_an_artist(make_user):
    assert "/en/login/" in Browser().get("/en/styles/new/")["Location"]
    html = Browser(make_user("fan")).page("/ko/styles/new/")
    assert 'data-test="not-artist"' in html and 'href="/ko/artist/apply/"' in html
    assert "승인된 작가만" in html
    refused = Browser(make_user("sneaky")).submit("/en/styles/new/", {"name": "x"})
    assert refused.status_code == 400 and "Only approved artists" in refused.content.decode()


def test_create_style_errors_name_the_file_and_the_rule(make_artist):
    browser = Browser(make_artist("painter"))
    fields = {"name": "Ink", "price_per_image": "5", "tags": "ink"}
    html = browser.page("/en/styles/new/")
    assert "styles/upload.js" in html and finders.find("styles/upload.js")
    assert 'type="file" name="images"' in html and "multiple" in html
    few = browser.submit("/en/styles/new/", {**fields, "images": [png("a.png"), png("b.png")]})
    assert few.status_code == 400
    assert "2 images were sent; a style needs 10 to 100." in few.content.decode()
    works = [png(f"w{i}.png", shade=i * 20) for i in range(9)]
    fake = SimpleUploadedFile("fake.png", b"GIF89a" + b"\0" * 64, content_type="image/png")
    korean = browser.submit("/ko/styles/new/", {**fields, "images": [*works, fake]})
    assert korean.status_code == 400 and "fake.png 파일은" in korean.content.decode()
    lora = SimpleUploadedFile("mine.safetensors", b"not a safetensors file at all")
    bad_lora = browser.submit("/en/styles/new/", {**fields, "lora": lora})
    assert "mine.safetensors is not a safetensors file." in bad_lora.content.decode()
    price = browser.submit("/en/styles/new/", {**fields, "price_per_image": "0"})
    assert "The price must be between 1 and 10,000 credits." in price.content.decode()
    assert not Style.objects.exists()


def test_create_style_from_works_with_captions(make_artist):
    artist = make_artist("painter")
    works = [png(f"w{i}.png", shade=i * 20) for i in range(10)]
    data = {
        "name": "Ink",
        "description": "Quiet hills",
        "tags": "ink, Hills",
        "price_per_image": "5",
        "images": works,
        "captions": [f"hill {i}" for i in range(10)],
    }
    response = Browser(artist).submit("/en/styles/new/", data)
    style = Style.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/en/styles/{style.pk}/"
    assert style.status == StyleStatus.QUEUED and style.training_job_id is not None
    assert [w.caption for w in style.training_images.all()][:2] == ["hill 0", "hill 1"]
    assert sorted(t.name for t in style.tags.all()) == ["hills", "ink"]
    page = Browser(artist).page(response["Location"])
    assert 'data-test="status">Queued<' in page and 'hx-trigger="every 2s"' in page


# -- my styles --------------------------------------------------------------------------------------


def test_my_styles_lists_status_and_edits_the_price(artist, ink, make_artist):
    make_style(artist, name="Fresh", status=StyleStatus.FAILED)
    browser = Browser(artist)
    html = browser.page("/en/me/styles/")
    assert html.count('data-test="style-row"') == 2
    assert "Published" in html and "Failed" in html and 'value="5"' in html
    refused = browser.submit(f"/en/me/styles/{ink.pk}/price/", {"price_per_image": "0"})
    assert refused.status_code == 302
    assert "The price must be between 1 and 10,000 credits." in browser.page("/en/me/styles/")
    browser.submit(f"/en/me/styles/{ink.pk}/price/", {"price_per_image": "7"})
    ink.refresh_from_db()
    assert ink.price_per_image == 7
    assert "가격" in browser.page("/ko/me/styles/")
    stranger = Browser(make_artist("stranger"))
    forbidden = stranger.submit(f"/en/me/styles/{ink.pk}/price/", {"price_per_image": "1"})
    assert forbidden.status_code == 404
    assert "/en/login/" in Browser().get("/en/me/styles/")["Location"]
