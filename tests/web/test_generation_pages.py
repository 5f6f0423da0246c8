"""Generation pages: my images (visibility and description), a generation's page with its
progress panel, cancelling; owners only, English and Korean."""

from __future__ import annotations

import pytest

from stylevault.generation import services
from stylevault.generation.models import Generation, GenerationStatus
from stylevault.ledger import services as ledger
from stylevault.ledger.selectors import wallet_of
from tests.community.factories import make_image, make_style
from tests.web.browsing import Browser

pytestmark = pytest.mark.django_db


@pytest.fixture
def style(make_user):
    return make_style(make_user("painter", artist=True), name="Ink hills", price=5)


@pytest.fixture
def owner(make_user):
    user = make_user("owner")
    ledger.grant_credits(user=user, amount=50, reason="test credits")
    return user


def request(owner, style) -> Generation:
    body = {"styles": [{"id": style.pk}], "prompt": "a lighthouse", "steps": 3, "seed": 1}
    return services.request_generation(user=owner, body=body)


def test_my_images_lists_and_edits_my_images(owner, style, make_user):
    mine = make_image(owner, style, public=False)
    make_image(make_user("someone"), style, public=True)
    browser = Browser(owner)
    html = browser.page("/en/me/images/")
    assert html.count('data-test="image-row"') == 1
    assert f'src="/api/v1/images/{mine.pk}/file"' in html
    assert f'href="/en/generations/{mine.generation_id}/"' in html
    assert f'href="/en/images/{mine.pk}/certificate/"' in html
    assert 'data-test="visibility">Private<' in html

    saved = browser.submit(
        f"/en/me/images/{mine.pk}/", {"visibility": "public", "description": "Dawn"}
    )
    assert saved.status_code == 302 and saved["Location"] == "/en/me/images/"
    mine.refresh_from_db()
    assert mine.is_public and mine.description == "Dawn" and mine.published_at is not None
    assert "The image was saved." in browser.page("/en/me/images/")

    row = browser.submit(
        f"/ko/me/images/{mine.pk}/", {"visibility": "private", "description": "x" * 2001}, htmx=True
    )
    html = row.content.decode()
    assert row.status_code == 200 and html.startswith('<article class="card image-row"')
    assert "2000" in html and 'role="alert"' in html  # the service's rule, in the row
    mine.refresh_from_db()
    assert mine.is_public  # nothing changed
    assert "내 이미지" in browser.page("/ko/me/images/")


def test_my_images_are_mine_only(owner, style, make_user):
    theirs = make_image(make_user("someone"), style, public=True)
    stranger = Browser(owner).submit(
        f"/en/me/images/{theirs.pk}/", {"visibility": "private", "description": ""}
    )
    assert stranger.status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_public
    assert "/en/login/" in Browser().get("/en/me/images/")["Location"]


def test_generation_page_for_its_owner_only(owner, style, make_user):
    generation = request(owner, style)
    browser = Browser(owner)
    html = browser.page(f"/en/generations/{generation.pk}/")
    assert 'data-test="generation-status">Queued<' in html and "a lighthouse" in html
    assert f'data-events="/api/v1/generations/{generation.pk}/events"' in html
    assert f'data-panel="/en/generations/{generation.pk}/panel/"' in html
    assert "generation/progress.js" in html
    panel = browser.page(f"/en/generations/{generation.pk}/panel/")
    assert panel.lstrip().startswith('<section class="card run"')
    Browser(make_user("nosy")).page(f"/en/generations/{generation.pk}/", status=404)
    Browser(make_user("nosy2")).page(f"/en/generations/{generation.pk}/panel/", status=404)
    assert "/en/login/" in Browser().get(f"/en/generations/{generation.pk}/")["Location"]


def test_cancel_returns_the_credits(owner, style):
    generation = request(owner, style)
    assert wallet_of(owner)["held"] == 5
    browser = Browser(owner)
    panel = browser.submit(f"/ko/generations/{generation.pk}/cancel/", htmx=True)
    html = panel.content.decode()
    assert panel.status_code == 200 and "data-events" not in html  # finished: no stream
    assert "생성을 취소했습니다. 크레딧은 돌려드렸습니다." in html
    generation.refresh_from_db()
    assert generation.status == GenerationStatus.CANCELLED
    assert wallet_of(owner) == {"balance": 50, "held": 0}
    page = browser.page(f"/en/generations/{generation.pk}/")
    assert 'data-test="generation-status">Cancelled<' in page and 'data-test="cancel"' not in page


def test_cancelling_a_finished_generation_says_why(owner, style, make_user):
    image = make_image(owner, style)
    browser = Browser(owner)
    answer = browser.submit(f"/en/generations/{image.generation_id}/cancel/")
    assert answer.status_code == 302
    html = browser.page(answer["Location"])
    assert "This generation has already finished." in html
    assert f'src="/api/v1/images/{image.pk}/file"' in html
    other = Browser(make_user("nosy")).submit(f"/en/generations/{image.generation_id}/cancel/")
    assert other.status_code == 404


def test_failure_is_explained_in_the_users_language(owner, style):
    generation = request(owner, style)
    Generation.objects.filter(pk=generation.pk).update(
        status=GenerationStatus.EXPIRED, error_code="EXPIRED"
    )
    html = Browser(owner).page(f"/ko/generations/{generation.pk}/")
    assert "제때 처리할 작업자가 없었습니다" in html and 'data-test="generation-error"' in html
