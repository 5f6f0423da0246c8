"""Issue 21 replayed against a real server over real sockets: each row answers with the
documented status and envelope, never a 500, and the server stays healthy meanwhile."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import httpx
import pytest

from tests.security.conftest import PASSWORD, png_bytes, serve

MB = 1024 * 1024


def _envelope(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, (response.status_code, response.text[:300])
    error = response.json()["error"]
    assert error["code"] == code and error["message"], error
    return error


def _raw(port: int, head: bytes, body_chunks=(), *, pause: float = 0.0) -> tuple[bytes, float]:
    """Sends the request line and headers, then body chunks until the server answers; returns
    what it answered and the seconds from the end of the headers to its first byte."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        sent_headers = time.perf_counter()
        sock.setblocking(False)
        answer = b""
        for chunk in body_chunks:
            with contextlib.suppress(BlockingIOError):
                answer += sock.recv(65536)
            if answer:
                break
            try:
                sock.sendall(chunk)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
            time.sleep(pause)
        sock.setblocking(True)
        with contextlib.suppress(ConnectionResetError):
            while part := sock.recv(65536):  # the server closes the connection after a 413
                answer += part
        return answer, time.perf_counter() - sent_headers


def _head(path: str, length: int | None, content_type: str = "application/json") -> bytes:
    size = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n{size}\r\n\r\n"
    ).encode()


# -- row 2: bodies refused before they are read ---------------------------------------------


def test_a_500_mb_verify_upload_is_refused_from_its_headers(live):
    head = _head("/api/v1/verify", 500 * MB, "multipart/form-data; boundary=x")
    answer, seconds = _raw(live.port, head, [b"x" * 65536] * 16)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"FILE_TOO_LARGE"' in answer and b"connection: close" in answer.lower()
    assert seconds < 2, "answered before the body, not after reading it"


def test_a_chunked_body_is_cut_off_at_the_limit(live):
    chunk = b"%x\r\n%s\r\n" % (MB, b"y" * MB)
    head = _head("/api/v1/auth/login", None)
    answer, _seconds = _raw(live.port, head, [chunk] * 40)
    assert answer.startswith(b"HTTP/1.1 413") and b'"FILE_TOO_LARGE"' in answer, answer[:200]


def test_a_slow_30_mb_upload_is_refused_before_it_is_sent(live):
    head = _head("/api/v1/verify", 30 * MB, "multipart/form-data; boundary=x")
    answer, seconds = _raw(live.port, head, [b"z" * 65536] * 500, pause=0.01)
    assert answer.startswith(b"HTTP/1.1 413")
    assert seconds < 2  # the whole upload at 5 MB/s would take 6 s


def test_fifty_mb_of_json_and_a_page_form_too_large_get_413(live):
    for path in ("/api/v1/auth/login", "/api/v1/generations"):
        answer, _s = _raw(live.port, _head(path, 50 * MB), [b"{" * 65536] * 4)
        assert answer.startswith(b"HTTP/1.1 413") and b"FILE_TOO_LARGE" in answer
    head = _head("/en/login/", 50 * MB, "application/x-www-form-urlencoded")
    answer, _s = _raw(live.port, head, [b"a=" * 32768])
    assert answer.startswith(b"HTTP/1.1 413") and b"text/plain" in answer


def test_the_413_speaks_the_clients_language(live):
    response = httpx.post(
        f"{live.url}/api/v1/verify",
        content=b"x" * (22 * MB),
        headers={"Content-Type": "multipart/form-data; boundary=x", "Accept-Language": "ko"},
    )
    error = _envelope(response, 413, "FILE_TOO_LARGE")
    assert "MB" in error["message"] and error["message"].isascii() is False


# -- row 3: what Django refuses to parse ----------------------------------------------------


def test_too_many_files_fields_parameters_or_nesting_are_400s(live):
    files = [("image", (f"{n}.png", b"\x89PNG", "image/png")) for n in range(130)]
    _envelope(httpx.post(f"{live.url}/api/v1/verify", files=files), 400, "VALIDATION_ERROR")
    fields = urlencode([(f"f{n}", "1") for n in range(1100)])
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response = httpx.post(f"{live.url}/api/v1/verify", content=fields, headers=form)
    _envelope(response, 400, "VALIDATION_ERROR")
    for path in ("/api/v1/styles", "/api/v1/feed"):
        _envelope(httpx.get(f"{live.url}{path}?{fields}"), 400, "VALIDATION_ERROR")
    page = httpx.get(f"{live.url}/en/styles/?{fields}")
    assert page.status_code == 400 and "text/html" in page.headers["content-type"]
    deep = "[" * 1000 + "]" * 1000
    response = httpx.post(
        f"{live.url}/api/v1/auth/login",
        content=json.dumps({"username": "x", "password": "y"})[:-1] + f', "n": {deep}}}',
        headers={"Content-Type": "application/json"},
    )
    _envelope(response, 400, "VALIDATION_ERROR")


def test_a_wrong_method_has_its_documented_code(live):
    _envelope(httpx.put(f"{live.url}/api/v1/auth/login", json={}), 405, "METHOD_NOT_ALLOWED")


# -- row 4: cursors -------------------------------------------------------------------------


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode()


@pytest.mark.parametrize(
    ("path", "cursor"),
    [
        ("/api/v1/styles", "cD14"),  # p=x
        ("/api/v1/styles", "!!!"),
        ("/api/v1/generations", _cursor("p=2026-13-45")),
        ("/api/v1/wallet/transactions", _cursor("p=2026-13-45")),
        ("/api/v1/wallet/transactions", _cursor(f"p={2**70}")),
        ("/api/v1/feed", "bad"),
        ("/api/v1/notifications", "bad"),
    ],
)
def test_any_bad_cursor_is_a_validation_error(live, path, cursor):
    auth = {"Authorization": f"Bearer {live.seeded['token']}"}
    response = httpx.get(f"{live.url}{path}", params={"cursor": cursor}, headers=auth)
    _envelope(response, 400, "VALIDATION_ERROR")


@contextlib.contextmanager
def _logged_in(live, username: str = "buyer") -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url) as client:
        credentials = {"username": username, "password": PASSWORD}
        response = client.post("/api/v1/auth/login", json=credentials)
        assert response.status_code == 200, response.text
        yield client


def _csrf(client: httpx.Client, page: str) -> str:
    client.get(page)
    return client.cookies["csrftoken"]


def test_a_bad_cursor_on_a_page_is_a_400_page(fresh_limits):
    with _logged_in(fresh_limits) as client:
        page = client.get("/en/me/images/", params={"cursor": "bad"})
    assert page.status_code == 400 and "cursor" in page.text


# -- rows 5, 6: log-in limits ---------------------------------------------------------------


def test_the_operator_console_login_shares_the_login_limit(fresh_limits):
    with httpx.Client(base_url=fresh_limits.url) as client:
        token = _csrf(client, "/admin/login/")
        statuses = []
        for n in range(8):
            password = PASSWORD if n == 7 else f"wrong {n}"
            form = {"username": "operator", "password": password, "csrfmiddlewaretoken": token}
            statuses.append(client.post("/admin/login/", data=form).status_code)
    assert statuses[:5] == [200] * 5  # the form again, with its error
    assert statuses[5:] == [429] * 3, "the right password after the limit does not log in"


def test_a_forged_x_forwarded_for_is_ignored(fresh_limits):
    statuses = [
        httpx.post(
            f"{fresh_limits.url}/api/v1/auth/login",
            json={"username": "buyer", "password": f"wrong {n}"},
            headers={"X-Forwarded-For": f"10.0.{n}.1"},
        ).status_code
        for n in range(8)
    ]
    assert statuses == [401] * 5 + [429] * 3


def test_behind_a_trusted_proxy_each_client_and_each_account_have_a_limit(seeded_dir, tmp_path):
    with serve(seeded_dir, tmp_path, STYLEVAULT_TRUSTED_PROXIES="127.0.0.1") as server:

        def attempt(address: str, username: str = "buyer") -> httpx.Response:
            return httpx.post(
                f"{server.url}/api/v1/auth/login",
                json={"username": username, "password": "wrong"},
                headers={"X-Forwarded-For": address},
            )

        # One address: its own limit (5 per 5 minutes), others unaffected.
        assert [attempt("10.1.0.1", "nobody").status_code for _ in range(6)][-1] == 429
        assert attempt("10.1.0.2", "nobody2").status_code == 401
        # One account from many addresses: 10 per 15 minutes, then 429 for every address.
        statuses = [attempt(f"10.2.{n}.1").status_code for n in range(12)]
        assert statuses == [401] * 10 + [429] * 2
        error = _envelope(attempt("10.3.0.1"), 429, "RATE_LIMITED")
        assert error["details"]["retry_after"] > 0


# -- row 7: the generation limit is the same behind every door ------------------------------


def _generate_on_the_page(live, fields: dict) -> httpx.Response:
    """The buyer submits the style page's generator form."""
    style = live.seeded["style_id"]
    with _logged_in(live) as client:
        token = _csrf(client, f"/en/styles/{style}/")
        form = {"prompt": "a boat", "aspect_ratio": "1:1", "csrfmiddlewaretoken": token, **fields}
        return client.post(f"/en/styles/{style}/generate/", data=form)


def test_the_generation_page_shares_the_api_generation_limit(fresh_limits):
    live = fresh_limits
    auth = {"Authorization": f"Bearer {live.seeded['token']}"}
    body = {"styles": [{"id": live.seeded["style_id"]}], "prompt": "a boat"}
    for _ in range(10):
        response = httpx.post(f"{live.url}/api/v1/generations", json=body, headers=auth)
        assert response.status_code == 202, response.text
    page = _generate_on_the_page(live, {"idempotency_key": "page-1"})
    assert page.status_code == 429 and int(page.headers["Retry-After"]) > 0


# -- row 8: one set of username rules -------------------------------------------------------


@pytest.mark.parametrize("username", ["bоb", "ｄｅｍｏ-artist", "x", "dem0_artist"])
def test_allauth_sign_up_keeps_the_username_rules(fresh_limits, username):
    live = fresh_limits
    with httpx.Client(base_url=live.url) as client:
        token = _csrf(client, "/accounts/signup/")
        form = {
            "username": username,
            "password1": "a long unusual passphrase 7",
            "csrfmiddlewaretoken": token,
        }
        response = client.post("/accounts/signup/", data=form)
    assert response.status_code == 200 and "errorlist" in response.text
    with live.db() as db:
        names = {row[0] for row in db.execute("SELECT username FROM accounts_user")}
    assert username not in names and len(names) == 4


def test_the_api_refuses_a_full_width_look_alike(live):
    response = httpx.post(
        f"{live.url}/api/v1/auth/signup",
        json={"username": "ｄｅｍｏ-artist", "password": "a long unusual passphrase 7"},
    )
    _envelope(response, 409, "CONFLICT")


# -- row 9: live progress streams -----------------------------------------------------------


def _hold_streams(live, url: str, auth: dict, count: int) -> httpx.Response:
    """Opens `count` streams, asks for one more, closes them all; returns the extra answer."""
    with contextlib.ExitStack() as streams, httpx.Client(timeout=10) as client:
        for _ in range(count):
            response = streams.enter_context(client.stream("GET", url, headers=auth))
            assert response.status_code == 200
        extra = client.get(url, headers=auth)
        assert httpx.get(f"{live.url}/healthz").status_code == 200
    return extra


def test_progress_streams_are_capped_per_user_and_leave_no_connection_behind(fresh_limits):
    live = fresh_limits
    url = f"{live.url}/api/v1/generations/{live.seeded['generation_id']}/events"
    auth = {"Authorization": f"Bearer {live.seeded['token']}"}
    refused = _hold_streams(live, url, auth, 5)
    _envelope(refused, 429, "RATE_LIMITED")
    assert int(refused.headers["Retry-After"]) > 0
    time.sleep(1)
    # SQLite keeps the descriptors of closed connections while another connection of the
    # process holds the file, and reuses them: what must not happen is growth per stream.
    held = live.open_database_files()
    for _round in range(3):
        _envelope(_hold_streams(live, url, auth, 5), 429, "RATE_LIMITED")
    time.sleep(1)
    assert live.open_database_files() <= held


# -- rows 10, 12: form bounds, invisible characters ------------------------------------------


def test_a_huge_blend_id_on_the_generator_page_is_a_form_error(fresh_limits):
    fields = {"idempotency_key": "page-2", "blend-style_1": str(2**70), "blend-weight_1": "1e308"}
    page = _generate_on_the_page(fresh_limits, fields)
    assert page.status_code == 400
    assert "less than or equal to 9223372036854775807" in page.text  # Django's bound message
    assert "less than or equal to 10" in page.text


def test_bidi_overrides_are_stripped_from_style_names_and_tags(fresh_limits):
    live = fresh_limits
    with _logged_in(live, "demo-artist") as client:
        client.get("/en/")
        response = client.patch(
            f"/api/v1/styles/{live.seeded['style_id']}",
            json={"name": "Ink\u202egpj.exe", "tags": ["sea\u200b", "\u2066boat\u2069"]},
            headers={"X-CSRFToken": client.cookies["csrftoken"]},
        )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Inkgpj.exe"
    assert sorted(response.json()["tags"]) == ["boat", "sea"]


# -- row 11: signatures in the console -----------------------------------------------------


def test_operators_see_the_signature_they_approve_and_nobody_else_does(fresh_limits):
    live = fresh_limits
    path = f"/admin/accounts/artistapplication/{live.seeded['application_id']}/signature/"
    with httpx.Client(base_url=live.url) as client:
        token = _csrf(client, "/admin/login/")
        form = {"username": "operator", "password": PASSWORD, "csrfmiddlewaretoken": token}
        assert client.post("/admin/login/", data=form).status_code == 302
        change = client.get(
            f"/admin/accounts/artistapplication/{live.seeded['application_id']}/change/"
        )
        assert path in change.text
        image = client.get(path)
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert image.content.startswith(b"\x89PNG")
    assert httpx.get(f"{live.url}{path}").status_code == 302  # to the console's log-in
    with _logged_in(live, "applicant") as client:
        assert client.get(path).status_code == 302
        assert client.get("/media/" + "signatures/").status_code == 404


# -- row 1: the pixel cap ------------------------------------------------------------------


@pytest.fixture(scope="module")
def pixel_cap_png() -> bytes:
    return png_bytes(6300, 6300)  # 39.7 MP, just under the 40 MP cap; ~100 KB


def test_eight_verify_uploads_at_the_pixel_cap_stay_within_memory_and_health(live, pixel_cap_png):
    before = live.rss_kb()
    health: list[float] = []
    done = threading.Event()

    def probe() -> None:
        while not done.is_set():
            started = time.perf_counter()
            assert httpx.get(f"{live.url}/healthz", timeout=10).status_code == 200
            health.append(time.perf_counter() - started)
            time.sleep(0.05)

    def verify(n: int) -> httpx.Response:
        files = {"image": (f"big{n}.png", pixel_cap_png, "image/png")}
        return httpx.post(f"{live.url}/api/v1/verify", files=files, timeout=120)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(verify, range(8)))
    finally:
        done.set()
        prober.join()
    assert [a.status_code for a in answers] == [200] * 8
    assert all(a.json() == {"match": False} for a in answers)
    added_mb = (live.rss_kb("VmHWM") - before) / 1024
    assert added_mb < 600, f"{added_mb:.0f} MB added at the peak"
    assert (live.rss_kb() - before) / 1024 < 200, "the memory was handed back"
    assert health and max(health) < 2.0, f"/healthz took up to {max(health):.2f} s"
