"""The studio's pages: start page with ideas and history, brand settings, the htmx chat."""

from __future__ import annotations

import pytest

from stylevault.campaigns import services
from stylevault.campaigns.models import Brand
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, owner):
    client.login(username=owner.username, password=PASSWORD)
    return client


def test_start_page_needs_an_account(client):
    assert client.get("/en/campaigns/").status_code == 302


def test_brand_settings_then_start_page_in_korean(signed_in, owner):
    response = signed_in.post(
        "/en/campaigns/brands/new/",
        {"name": "Bean There", "business_type": "cafe", "tone": "calm", "language": "en"},
    )
    assert response.status_code == 302, response.content[:500]
    brand = Brand.objects.get(owner=owner)
    assert brand.tone == "calm"
    page = signed_in.get("/ko/campaigns/").content.decode()
    assert "캠페인 스튜디오" in page and "Bean There" in page and 'data-test="ideas"' in page
    assert "<script>" not in page and "style=" not in page  # CSP: no inline code


def test_chat_page_sends_with_htmx_and_shows_errors(signed_in, owner):
    brand = services.create_brand(
        owner=owner, data={"name": "Bean There", "business_type": "cafe", "language": "en"}
    )
    started = signed_in.post(f"/en/campaigns/brands/{brand.pk}/start/")
    assert started.status_code == 302
    chat = signed_in.get(started["Location"])
    assert chat.status_code == 200 and 'data-test="send-form"' in chat.content.decode()
    session_id = int(started["Location"].rstrip("/").split("/")[-1])
    fragment = signed_in.post(
        f"/en/campaigns/sessions/{session_id}/send/",
        {"text": "winter menu"},
        HTTP_HX_REQUEST="true",
    )
    assert fragment.status_code == 200
    assert "Choose a licensed style" in fragment.content.decode()


def test_other_peoples_pages_are_not_found(signed_in, make_user):
    other = make_user("other")
    brand = services.create_brand(
        owner=other, data={"name": "Theirs", "business_type": "cafe", "language": "en"}
    )
    session = services.create_session(owner=other, brand_id=brand.pk)
    assert signed_in.get(f"/en/campaigns/brands/{brand.pk}/").status_code == 404
    assert signed_in.get(f"/en/campaigns/sessions/{session.pk}/").status_code == 404


def test_chat_shows_drafts_with_their_downloads_and_layouts(signed_in, owner):
    from stylevault.campaigns.models import Draft, Message
    from stylevault.styles.models import Style

    brand = services.create_brand(
        owner=owner, data={"name": "Bean There", "business_type": "cafe", "language": "en"}
    )
    session = services.create_session(owner=owner, brand_id=brand.pk)
    message = Message.objects.create(session=session, role="assistant", text="Here it is")
    draft = Draft.objects.create(
        owner=owner,
        session=session,
        brand=brand,
        message=message,
        brief="winter menu",
        headline="Warm up",
        body="Our winter menu is here.",
        cta="Visit us today",
        hashtags=["#cafe"],
        image_prompt="p",
        aspect_ratio="4:5",
        language="en",
        tone="friendly",
        writer="template",
        style=Style.objects.create(artist=owner, name="Ink", price_per_image=1),
        status="succeeded",
        ad_path="x.jpg",
        ad_png_path="x.png",
        ad_width=1080,
        ad_height=1350,
    )
    page = signed_in.get(f"/en/campaigns/sessions/{session.pk}/").content.decode()
    assert 'data-test="ad"' in page and f"/api/v1/campaigns/drafts/{draft.pk}/ad?as=png" in page
    panel = signed_in.get(f"/en/campaigns/drafts/{draft.pk}/panel/").content.decode()
    assert "Warm up" in panel and 'hx-trigger="every 2s"' not in panel  # finished: no polling
    Draft.objects.filter(pk=draft.pk).update(status="queued")
    panel = signed_in.get(f"/en/campaigns/drafts/{draft.pk}/panel/").content.decode()
    assert 'hx-trigger="every 2s"' in panel
