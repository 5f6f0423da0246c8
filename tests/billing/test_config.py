"""Payment settings are checked at start, with a clear line for each problem."""

from __future__ import annotations

import pytest

from stylevault.core.config import ConfigError, load


def env(**values):
    return {
        "STYLEVAULT_DATA_DIR": "/tmp/sv-config-test",
        "STYLEVAULT_SECRET_KEY": "x" * 60,
        **values,
    }


def test_defaults():
    payments = load(env()).payments
    assert payments["credit_packs"] is None and payments["platform_fee_percent"] == "0"
    assert payments["payout_minimum_usd_cents"] == 2000


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"STYLEVAULT_STRIPE_SECRET_KEY": "sk_live_x"}, "STYLEVAULT_STRIPE_WEBHOOK_SECRET"),
        ({"STYLEVAULT_CREDIT_PACKS": "{not json"}, "not valid JSON"),
        (
            {"STYLEVAULT_CREDIT_PACKS": '[{"id": "a", "credits": 0, "prices": {"KRW": 1}}]'},
            "each pack",
        ),
        ({"STYLEVAULT_CREDIT_PACKS": '{"id": "a"}'}, "JSON list"),
        ({"STYLEVAULT_SUBSCRIPTION_TIERS": '{"pro": 5}'}, "tier names"),
        ({"STYLEVAULT_PLATFORM_FEE_PERCENT": "150"}, "from 0 to 100"),
        ({"STYLEVAULT_STRIPE_API_BASE": "ftp://x"}, "STYLEVAULT_STRIPE_API_BASE"),
    ],
)
def test_wrong_values_stop_the_start(values, fragment):
    with pytest.raises(ConfigError) as info:
        load(env(**values))
    assert any(fragment in problem for problem in info.value.problems), info.value.problems


def test_custom_packs_and_fee():
    payments = load(
        env(
            STYLEVAULT_CREDIT_PACKS='[{"id": "p", "credits": 10, "prices": {"USD": 100, "KRW": 1000}}]',
            STYLEVAULT_PLATFORM_FEE_PERCENT="12.5",
        )
    ).payments
    assert payments["credit_packs"][0]["prices"] == {"USD": 100, "KRW": 1000}
    assert payments["platform_fee_percent"] == "12.5"


def test_a_wrong_url_is_reported_without_its_password():
    with pytest.raises(ConfigError) as info:
        load(env(STYLEVAULT_EMAIL_URL="smtp+ssl://mailer:hunter2@mail.example:465"))
    problems = info.value.problems
    assert len(problems) == 1 and "STYLEVAULT_EMAIL_URL" in problems[0]
    assert "hunter2" not in problems[0]
