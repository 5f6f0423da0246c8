"""On PostgreSQL, web servers keep tokens, plans and shared pages while the database pushes
every change (stylevault.core.readcache, decision 016): a change made by another process must reach
this one at once, and a lost listening connection must never leave stale reads behind."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from stylevault.accounts.models import ApiToken
from stylevault.billing import selectors as billing
from stylevault.billing.models import Subscription, SubscriptionStatus
from stylevault.core import readcache
from tests.community.factories import make_image, make_style
from tests.conftest import eventually, on_postgres

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
_connect = psycopg.connect  # the tests' own connections, whatever the listener is made to do


@pytest.fixture
def pushed(monkeypatch):
    if not on_postgres():
        pytest.skip("only PostgreSQL pushes changes (SQLite reads the generation rows)")
    monkeypatch.setattr(readcache._push, "ping_seconds", 0.2)
    monkeypatch.setattr(readcache._push, "retry_seconds", 0.2)
    try:
        assert readcache.listen()
        eventually(lambda: readcache._push.live)
        yield
    finally:
        readcache.stop_listening()


def other_process(*statements: tuple[str, list]) -> None:
    """What another server process does: statements in one transaction of its own."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    with _connect(**params) as conn:
        for sql, values in statements:
            conn.execute(sql, values)
        conn.commit()


def notify_from_elsewhere(name: str) -> None:
    """ReadCache.changed() in another process."""
    other_process(
        (readcache._BUMP, [name]), ("SELECT pg_notify(%s, %s)", [readcache.CHANNEL, name])
    )


def test_kept_values_need_no_query_and_follow_changes_from_elsewhere(
    pushed, django_assert_num_queries
):
    cache = readcache.ReadCache("push-test", pushed_only=True)
    builds = []
    cache.get("k", lambda: builds.append(1))
    with django_assert_num_queries(0):
        cache.get("k", lambda: builds.append(1))
    assert len(builds) == 1
    notify_from_elsewhere("push-test")
    eventually(lambda: (cache.get("k", lambda: builds.append(1)), len(builds) == 2)[1])


def in_another_process(tmp_path, code: str) -> None:
    """Runs `code` with Django set up on the test database, in a process of its own."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "STYLEVAULT_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "stylevault.settings",
    }
    script = f"import django; django.setup(); {code}"
    subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True)


def test_a_token_revoked_by_another_process_stops_working(pushed, user, token_client, tmp_path):
    client = token_client(user)
    for _ in range(2):  # the first use is recorded on the token, which is then read again
        assert client.get("/api/v1/me").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/me").status_code == 200
    assert not [q for q in queries if "apitoken" in q["sql"]], "the token is kept"
    token = ApiToken.objects.get(user=user)
    in_another_process(
        tmp_path,
        "from stylevault.accounts import services; from stylevault.accounts.models import User;"
        f"services.revoke_token(user=User.objects.get(pk={user.pk}), token_id={token.pk})",
    )
    eventually(lambda: client.get("/api/v1/me").status_code == 401)


def test_likes_show_in_the_viewers_feed_wherever_they_are_made(
    pushed, make_user, token_client, tmp_path
):
    artist, fan = make_user("artist", artist=True), make_user("fan")
    image = make_image(artist, make_style(artist))
    client = token_client(fan)

    def liked() -> bool:
        return client.get("/api/v1/feed").json()["results"][0]["liked"]

    assert liked() is False
    with CaptureQueriesContext(connection) as queries:
        assert liked() is False
    assert not [q for q in queries if "community_like" in q["sql"]], "the fan's likes are kept"
    assert client.post(f"/api/v1/images/{image.pk}/like").status_code == 200
    assert liked() is True, "this process: at once"
    in_another_process(
        tmp_path,
        "from stylevault.community import services; from stylevault.accounts.models import User;"
        f"services.unlike_image(user=User.objects.get(pk={fan.pk}), image_id={image.pk})",
    )
    eventually(lambda: liked() is False)


def test_a_plan_changed_in_bulk_is_seen_at_once(pushed, user):
    assert billing.tier_of(user).name == "free"
    subscription = Subscription.objects.create(user=user, provider="stripe")
    Subscription.objects.filter(pk=subscription.pk).update(
        tier="pro", status=SubscriptionStatus.ACTIVE
    )
    assert billing.tier_of(user).name == "pro"
    Subscription.objects.filter(pk=subscription.pk).update(status=SubscriptionStatus.CANCELED)
    assert billing.tier_of(user).name == "free"


def test_a_lost_listener_falls_back_to_rows_then_forgets_what_it_kept(pushed, monkeypatch):
    cache = readcache.ReadCache("push-test", pushed_only=False)
    builds = []

    def get(key: str) -> None:
        cache.get(key, lambda: builds.append(key))

    get("early")
    get("k")
    reconnect = threading.Event()
    monkeypatch.setattr(psycopg, "connect", lambda **params: reconnect.wait(30) and None)
    other_process(("SELECT pg_terminate_backend(%s)", [readcache._push.backend_pid]))
    eventually(lambda: not readcache._push.live)
    get("k")
    get("k")
    assert builds == ["early", "k", "k"], "while deaf, kept under the generation row"
    other_process((readcache._BUMP, ["push-test"]))  # a change nobody is told of
    get("k")
    assert builds[3:] == ["k"], "the row moved"
    monkeypatch.setattr(psycopg, "connect", _connect)
    reconnect.set()
    eventually(lambda: readcache._push.live)
    get("k")
    get("early")
    assert builds[4:] == ["k", "early"], "back live: nothing kept before is trusted"


def _database_url() -> str:
    """The test database, for a child process."""
    from urllib.parse import quote

    settings = connection.settings_dict
    password = f":{quote(settings['PASSWORD'], safe='')}" if settings["PASSWORD"] else ""
    return (
        f"postgres://{quote(settings['USER'] or 'postgres', safe='')}{password}@"
        f"{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    )


def test_keys_have_generations_of_their_own_and_the_cache_one_for_all(pushed):
    cache = readcache.ReadCache("push-keys", per_key=True)
    builds = []

    def get_all() -> None:
        for key in (1, 2):
            cache.get(key, lambda key=key: builds.append(key))

    get_all()
    with transaction.atomic():
        cache.changed(1)
    get_all()
    assert builds == [1, 2, 1], "one user's change leaves the others kept"
    with transaction.atomic():
        cache.changed()
    get_all()
    assert builds[3:] == [1, 2]
