"""Campaign fixtures: a published style (trained for real on the tiny model), a buyer with
credits, a brand, and a fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import pytest

from stylevault.campaigns import services
from stylevault.ledger import services as ledger
from tests.campaigns.fake_llm import FakeLLM
from tests.generation.conftest import train_style


@pytest.fixture
def fake_llm(settings):
    with FakeLLM() as server:
        settings.STYLEVAULT_LLM_URL = server.url
        settings.STYLEVAULT_LLM_API_KEY = "sk-test-campaigns"
        settings.STYLEVAULT_LLM_MODEL = "fake-model"
        settings.STYLEVAULT_LLM_TIMEOUT = 1.0
        services._llm.cache_clear()
        yield server
    services._llm.cache_clear()


@pytest.fixture
def campaign_style(fast_engine, make_artist, settings):
    settings.STYLEVAULT_CAMPAIGN_STEPS = 2
    return train_style(make_artist("painter"), price=5)


@pytest.fixture
def owner(make_user):
    user = make_user("shopkeeper")
    ledger.grant_credits(user=user, amount=100, reason="test credits")
    return user


@pytest.fixture
def brand(owner, campaign_style):
    return services.create_brand(
        owner=owner,
        data={
            "name": "카페 온도",
            "business_type": "cafe",
            "language": "ko",
            "default_style_id": campaign_style.pk,
        },
    )
