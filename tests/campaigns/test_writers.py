"""Copy writers: the template writer's rules, and the OpenAI-compatible writer against a real
local server (valid answers, repairs, refusals of json_schema, timeouts, fallbacks)."""

from __future__ import annotations

import itertools
import json

import pytest

from stylevault.campaigns import services
from stylevault.campaigns.providers.copy import COPY_SCHEMA, CopyRequest, check_copy, numbers_in
from stylevault.campaigns.providers.template_writer import TemplateWriter
from tests.campaigns.fake_llm import GOOD


def request(**extra) -> CopyRequest:
    fields = {
        "brand": "카페 온도",
        "business_type": "cafe",
        "tone": "friendly",
        "language": "ko",
        "brief": "우리 카페 겨울 신메뉴 출시",
        "season": "winter",
        "occasion": "launch",
        "aspect_ratio": "3:4",
    }
    return CopyRequest(**{**fields, **extra})


BUSINESSES = [
    "cafe",
    "restaurant",
    "bakery",
    "salon",
    "retail",
    "fitness",
    "clinic",
    "academy",
    "other",
]
OCCASIONS = [
    "launch",
    "sale",
    "opening",
    "event",
    "general",
    "holiday:pepero",
    "holiday:chuseok",
    "holiday:black_friday",
]


@pytest.mark.parametrize("language", ["ko", "en"])
def test_template_copy_keeps_the_rules_for_every_business_and_occasion(language):
    writer = TemplateWriter()
    for business, occasion, tone, variant in itertools.product(
        BUSINESSES, OCCASIONS, ["friendly", "premium", "playful", "calm"], [0, 1, 2]
    ):
        brief = "겨울 신메뉴, 아메리카노 2,500원, 12월 24일까지" if variant == 1 else "new menu"
        req = request(
            language=language,
            business_type=business,
            occasion=occasion,
            tone=tone,
            variant=variant,
            brief=brief,
        )
        copy = writer.write(req)
        check_copy(copy.__dict__, brief=f"{req.brief} {req.brand}")  # schema and facts
        assert len(copy.hashtags) <= 5 and all(t.startswith("#") for t in copy.hashtags)
        if variant == 1:  # the brief's numbers are quoted, never changed
            assert {"2500", "12", "24"} <= numbers_in(copy.body)
        if language == "ko":
            assert any("가" <= ch <= "힣" for ch in copy.headline + copy.body)
        else:
            assert not any("가" <= ch <= "힣" for ch in copy.headline.replace("카페 온도", ""))


def test_template_variants_differ_and_shorter_is_shorter():
    writer = TemplateWriter()
    headlines = {writer.write(request(variant=v)).headline for v in range(3)}
    assert len(headlines) == 3
    assert len(writer.write(request(shorter=True)).body) < len(writer.write(request()).body)
    # Korean particles follow the last syllable: 온도(no final) → 가, 빵집(final) → 이.
    assert "카페 온도가" in writer.write(request(occasion="general", variant=2)).headline
    assert "빵집이" in writer.write(request(brand="빵집", occasion="general", variant=2)).headline


def test_invented_numbers_are_refused():
    with pytest.raises(ValueError, match="not in the brief"):
        check_copy({**GOOD, "body": "30% 할인!"}, brief="겨울 신메뉴")
    check_copy({**GOOD, "body": "30% 할인!"}, brief="겨울 신메뉴 30% 할인")


def test_llm_request_carries_brand_brief_and_schema(fake_llm):
    copy, writer, note = services.write_copy(request())
    assert (writer, note) == ("llm", "") and copy.headline == GOOD["headline"]
    sent = fake_llm.requests[0]
    assert sent["model"] == "fake-model"
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"] == COPY_SCHEMA
    user = json.loads(sent["messages"][1]["content"])
    assert user["brand"] == "카페 온도" and user["brief"] == "우리 카페 겨울 신메뉴 출시"
    assert fake_llm.headers[0]["Authorization"] == "Bearer sk-test-campaigns"


def test_malformed_answer_is_repaired_once(fake_llm):
    fake_llm.script = ["here is your ad: headline...", GOOD]
    copy, writer, _note = services.write_copy(request())
    assert writer == "llm" and copy.cta == GOOD["cta"]
    assert len(fake_llm.requests) == 2
    repair = fake_llm.requests[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": "here is your ad: headline..."}
    assert "not valid" in repair[-1]["content"]


def test_invented_price_is_repaired_then_falls_back(fake_llm):
    fake_llm.script = [{**GOOD, "body": "오늘만 50% 할인!"}]
    copy, writer, note = services.write_copy(request())
    assert len(fake_llm.requests) == 2  # one repair, no more
    assert "50" in fake_llm.requests[1]["messages"][-1]["content"]
    assert writer == "template" and "built-in writer" in note
    assert "50" not in copy.body


def test_server_refusing_json_schema_gets_json_object(fake_llm):
    fake_llm.script = [("refuse_schema", GOOD)]
    _copy, writer, _note = services.write_copy(request())
    assert writer == "llm"
    assert [r["response_format"]["type"] for r in fake_llm.requests] == [
        "json_schema",
        "json_object",
    ]
    services.write_copy(request())  # remembered: no second refusal
    assert fake_llm.requests[-1]["response_format"]["type"] == "json_object"


def test_timeout_falls_back_to_the_template_writer(fake_llm):
    fake_llm.script = [("sleep", 3)]
    copy, writer, note = services.write_copy(request())
    assert writer == "template" and note
    assert copy.headline


def test_server_error_and_unreachable_server_fall_back(fake_llm, settings):
    fake_llm.script = [("status", 500)]
    assert services.write_copy(request())[1] == "template"
    settings.STYLEVAULT_LLM_URL = "http://127.0.0.1:9/v1"  # nothing listens on the discard port
    assert services.write_copy(request())[1] == "template"


def test_model_copy_breaking_the_content_policy_is_not_used(fake_llm):
    fake_llm.script = [{**GOOD, "headline": "nude models tonight"}]
    copy, writer, note = services.write_copy(request())
    assert writer == "template" and "content policy" in note
    assert "nude" not in copy.headline
