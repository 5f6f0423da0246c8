"""A person signs up, logs in, creates a token and switches to Korean, in Chromium."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_sign_up_log_in_token_and_korean(page, live_server_url):
    page.goto(f"{live_server_url}/en/signup/")
    page.fill("input[name=username]", "mina")
    page.fill("input[name=password]", PASSWORD)
    shot(page, "01-signup")
    page.click("[data-test=signup-submit]")
    page.wait_for_url("**/en/me/")
    assert page.text_content("[data-test=username]") == "mina"

    page.click("text=Log out")
    page.goto(f"{live_server_url}/en/login/")
    page.fill("input[name=username]", "mina")
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-test=login-submit]")
    page.wait_for_url("**/en/me/")

    page.fill("input[name=token-name]", "unity plugin")
    page.click("[data-test=token-submit]")
    token = page.text_content("[data-test=new-token]").strip()
    shot(page, "02-token")
    assert token.startswith("svt_")
    assert page.locator("[data-test=token-row]").count() == 1

    me = httpx.get(f"{live_server_url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["username"] == "mina"

    page.click("[data-test=lang-ko]")
    page.wait_for_url("**/ko/me/")
    shot(page, "03-korean")
    assert page.locator("html").get_attribute("lang") == "ko"
    assert "마이페이지" in page.content()


def test_home_answers_in_both_languages_over_http(live_server_url):
    english = httpx.get(f"{live_server_url}/en/")
    korean = httpx.get(f"{live_server_url}/ko/")
    assert english.status_code == korean.status_code == 200
    assert "Sign up" in english.text and "회원가입" in korean.text
    assert httpx.get(f"{live_server_url}/readyz").json()["ready"] is True
