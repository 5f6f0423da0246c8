"""A chat turn end to end: the brief, the copy, the paid picture through the generation flow,
the composed and signed ad; refinements that keep what was not asked to change; credits
captured once, released when the picture fails, never taken for a turn without an image."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from stylevault.campaigns.models import Draft
from stylevault.engine.c2pa import manifest_json, read_manifest
from stylevault.generation.models import Generation
from stylevault.ledger.selectors import check_books, credits_of, earnings_balance, wallet_of
from stylevault.provenance import manifests
from stylevault.provenance.models import Event
from tests.conftest import assert_error, png_upload, run_jobs

pytestmark = pytest.mark.django_db(transaction=True)


def _logo() -> Image.Image:
    logo = Image.new("RGBA", (120, 60), (0, 0, 0, 0))
    logo.paste((20, 120, 60, 255), (10, 10, 110, 50))
    return logo


def _turn(client, session_id: int, text: str, **extra) -> dict:
    response = client.post(
        f"/api/v1/campaigns/sessions/{session_id}/messages", {"text": text, **extra}, format="json"
    )
    assert response.status_code == 202, response.content
    return response.json()


def _read(response) -> bytes:
    assert response.status_code == 200, response.content[:300]
    return b"".join(response.streaming_content)


def test_brief_to_signed_ad_then_refinements(owner, campaign_style, token_client):
    client = token_client(owner)
    created = client.post(
        "/api/v1/brands",
        {
            "name": "카페 온도",
            "business_type": "cafe",
            "language": "ko",
            "default_style_id": campaign_style.pk,
            "logo": png_upload(_logo(), "logo.png"),
        },
        format="multipart",
    )
    assert created.status_code == 201, created.content
    brand = created.json()
    assert brand["primary_color"] == "#14783c"  # picked from the logo
    logo = _read(client.get(brand["logo_url"]))
    assert Image.open(io.BytesIO(logo)).mode == "RGBA"  # transparency kept

    session = client.post("/api/v1/campaigns/sessions", {"brand_id": brand["id"]}, format="json")
    assert session.status_code == 201
    session = session.json()
    turn = _turn(client, session["id"], "우리 카페 겨울 신메뉴, 3:4")
    draft = turn["draft"]
    assert turn["message"]["role"] == "user" and draft["status"] == "queued"
    assert draft["aspect_ratio"] == "3:4" and draft["language"] == "ko"
    assert draft["writer"] == "template" and len(draft["hashtags"]) <= 5
    assert wallet_of(owner) == {"balance": 95, "held": 5}
    assert "no text" in Generation.objects.get(pk=draft["generation_id"]).prompts[0]

    assert run_jobs("generation", "campaigns") == ["succeeded", "succeeded"]
    done = client.get(f"/api/v1/campaigns/drafts/{draft['id']}").json()
    assert done["status"] == "succeeded", done
    assert (done["ad"]["width"], done["ad"]["height"]) == (1080, 1440)
    assert credits_of(owner) == 95 and wallet_of(owner)["held"] == 0
    assert earnings_balance(campaign_style.artist) == 5 and check_books().clean

    jpeg = _read(client.get(done["ad"]["url"]))
    png = _read(client.get(done["ad"]["png_url"]))
    assert Image.open(io.BytesIO(jpeg)).size == (1080, 1440)
    assert Image.open(io.BytesIO(png)).format == "PNG"
    anchors = manifests.trust_anchors_pem()
    for data, mime in ((jpeg, "image/jpeg"), (png, "image/png")):
        info = read_manifest(data, mime, anchors)
        assert info.trusted and info.license["image_id"] == f"ad-{draft['id']}"
        manifest = json.loads(manifest_json(data, mime))
        active = manifest["manifests"][manifest["active_manifest"]]
        assert [i["relationship"] for i in active["ingredients"]] == ["parentOf"]
        actions = next(a for a in active["assertions"] if a["label"].startswith("c2pa.actions"))
        edits = [
            a.get("description") for a in actions["data"]["actions"] if a["action"] == "c2pa.edited"
        ]
        assert edits == ["text overlay", "logo overlay"]
    event = Event.objects.get(kind="campaign_ad_composed")
    assert event.payload["output_sha256"] == Draft.objects.get(pk=draft["id"]).ad_sha256
    copy_text = client.get(f"/api/v1/campaigns/drafts/{draft['id']}/copy").content.decode()
    assert done["headline"] in copy_text and done["hashtags"][0] in copy_text

    # "shorter" and "in English" change the copy, keep the picture: no new credits.
    shorter = _turn(client, session["id"], "더 짧게 해줘")["draft"]
    assert shorter["generation_id"] == draft["generation_id"]
    assert len(shorter["body"]) < len(done["body"]) and shorter["aspect_ratio"] == "3:4"
    english = _turn(client, session["id"], "in English")["draft"]
    assert english["language"] == "en" and english["generation_id"] == draft["generation_id"]
    assert not any("가" <= ch <= "힣" for ch in english["cta"])
    assert run_jobs("generation", "campaigns") == ["succeeded", "succeeded"]
    assert credits_of(owner) == 95 and Generation.objects.count() == 1

    # "make it 9:16" renders a new picture (paid), keeping the language and the copy's brief.
    tall = _turn(client, session["id"], "make it 9:16")["draft"]
    assert tall["aspect_ratio"] == "9:16" and tall["language"] == "en"
    assert tall["generation_id"] != draft["generation_id"]
    assert run_jobs("generation", "campaigns") == ["succeeded", "succeeded"]
    tall = client.get(f"/api/v1/campaigns/drafts/{tall['id']}").json()
    assert (tall["ad"]["width"], tall["ad"]["height"]) == (1080, 1920)
    assert credits_of(owner) == 90 and check_books().clean

    # Another layout of the same draft: recomposed, free.
    relaid = client.post(
        f"/api/v1/campaigns/drafts/{tall['id']}/layout", {"layout": "card"}, format="json"
    )
    assert relaid.status_code == 202 and relaid.json()["layout"] == "card"
    assert run_jobs("campaigns") == ["succeeded"]
    assert credits_of(owner) == 90

    listed = client.get(f"/api/v1/campaigns/sessions/{session['id']}").json()
    assert [m["role"] for m in listed["messages"]] == ["user", "assistant"] * 4
    assert listed["title"].startswith("우리 카페 겨울 신메뉴")


def test_failed_picture_releases_the_credits_and_fails_the_draft(owner, brand, token_client):
    from django.core.files.storage import default_storage

    style = brand.default_style
    # The stored model is damaged after a re-training: the worker cannot load it.
    default_storage.delete(style.lora_path)
    type(style).objects.filter(pk=style.pk).update(lora_sha256="0" * 64)
    client = token_client(owner)
    session = client.post(
        "/api/v1/campaigns/sessions", {"brand_id": brand.pk}, format="json"
    ).json()
    draft = _turn(client, session["id"], "new winter menu at my cafe")["draft"]
    assert wallet_of(owner)["held"] == 5
    run_jobs("generation", "campaigns")
    failed = client.get(f"/api/v1/campaigns/drafts/{draft['id']}").json()
    assert failed["status"] == "failed" and failed["error"]["code"]
    assert failed["ad"] is None
    assert wallet_of(owner) == {"balance": 100, "held": 0} and check_books().clean


def test_no_credits_no_turn(make_user, brand, token_client):
    poor = make_user("poor")
    from stylevault.campaigns import services

    poor_brand = services.create_brand(
        owner=poor,
        data={
            "name": "Bakery",
            "business_type": "bakery",
            "language": "en",
            "default_style_id": brand.default_style_id,
        },
    )
    client = token_client(poor)
    session = client.post(
        "/api/v1/campaigns/sessions", {"brand_id": poor_brand.pk}, format="json"
    ).json()
    response = client.post(
        f"/api/v1/campaigns/sessions/{session['id']}/messages",
        {"text": "fresh bread sale"},
        format="json",
    )
    assert_error(response, 402, "INSUFFICIENT_CREDITS")
    assert not Draft.objects.exists() and not Generation.objects.exists()
    assert client.get(f"/api/v1/campaigns/sessions/{session['id']}").json()["messages"] == []


def test_llm_timeout_still_makes_the_ad_and_says_so(owner, brand, token_client, fake_llm):
    fake_llm.script = [("sleep", 3)]
    client = token_client(owner)
    session = client.post(
        "/api/v1/campaigns/sessions", {"brand_id": brand.pk}, format="json"
    ).json()
    turn = _turn(client, session["id"], "우리 카페 겨울 신메뉴")
    assert turn["draft"]["writer"] == "template"
    reply = client.get(f"/api/v1/campaigns/sessions/{session['id']}").json()["messages"][-1]
    assert reply["role"] == "assistant" and reply["draft_id"] == turn["draft"]["id"]
    assert run_jobs("generation", "campaigns") == ["succeeded", "succeeded"]
    assert credits_of(owner) == 95


def test_failed_layout_keeps_the_paid_picture_and_can_be_retried(
    owner, brand, token_client, monkeypatch
):
    from stylevault.campaigns import layout

    client = token_client(owner)
    session = client.post(
        "/api/v1/campaigns/sessions", {"brand_id": brand.pk}, format="json"
    ).json()
    draft = _turn(client, session["id"], "우리 카페 겨울 신메뉴, 4:5")["draft"]
    real_compose = layout.compose

    def broken(*args, **kwargs):
        raise RuntimeError("compositor crashed")

    monkeypatch.setattr(layout, "compose", broken)
    outcomes = run_jobs("generation", "campaigns")
    assert outcomes[0] == "succeeded" and outcomes[-1] == "failed"
    failed = client.get(f"/api/v1/campaigns/drafts/{draft['id']}").json()
    assert failed["status"] == "failed" and "picture is kept" in failed["error"]["message"]
    assert credits_of(owner) == 95 and wallet_of(owner)["held"] == 0  # captured once

    monkeypatch.setattr(layout, "compose", real_compose)
    retried = client.post(
        f"/api/v1/campaigns/drafts/{draft['id']}/layout", {"layout": "top"}, format="json"
    )
    assert retried.status_code == 202
    assert run_jobs("campaigns") == ["succeeded"]
    done = client.get(f"/api/v1/campaigns/drafts/{draft['id']}").json()
    assert done["status"] == "succeeded" and (done["ad"]["width"], done["ad"]["height"]) == (
        1080,
        1350,
    )
    assert credits_of(owner) == 95 and check_books().clean


def test_a_double_clicked_send_is_one_paid_turn(owner, brand, token_client):
    client = token_client(owner)
    session = client.post(
        "/api/v1/campaigns/sessions", {"brand_id": brand.pk}, format="json"
    ).json()
    first = _turn(client, session["id"], "new winter menu at my cafe")
    again = _turn(client, session["id"], "new winter menu at my cafe")
    assert again["draft"]["id"] == first["draft"]["id"]
    assert again["message"]["id"] == first["message"]["id"]
    assert Generation.objects.count() == 1 and wallet_of(owner)["held"] == 5
    listed = client.get(f"/api/v1/campaigns/sessions/{session['id']}").json()
    assert [m["role"] for m in listed["messages"]] == ["user", "assistant"]
    # Another picture asked for on purpose is another paid turn.
    _turn(client, session["id"], "another picture")
    assert Generation.objects.count() == 2 and wallet_of(owner)["held"] == 10
