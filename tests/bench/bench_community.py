"""Community and search at scale (issue 8): the feed, a two-tag style search and a text
search at 100 concurrent connections on `stylevault serve` with PostgreSQL.

    python tests/bench/bench_community.py

A child process migrates a throwaway database (``stylevault_bench_community``) and seeds it
with plain SQL (INSERT ... SELECT over generate_series): 1,000 artists, 1,000 buyers, 500 tags,
100,000 styles (90% published, three tags each, skewed so a few tags are common; descriptions
of 12 words from a 5,000-word vocabulary) and 1,000,000 images (70% public, published_at
ties in pairs). Then the API is loaded with a bearer token, one scenario after the other, with
tests.bench.httpload.

Goal: p95 ≤ 100 ms for each. ``main() -> list[dict]`` is what the bench runner imports.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.bench_api import _wait  # noqa: E402
from tests.bench.child import run_child  # noqa: E402
from tests.bench.httpload import load  # noqa: E402
from tests.e2e.conftest import free_port  # noqa: E402

PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "stylevault_bench_community"
PG_URL = f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}"
ARTISTS, BUYERS, TAGS, WORDS = 1_000, 1_000, 500, 5_000
STYLES, IMAGES, IMAGES_PER_GENERATION = 100_000, 1_000_000, 4
WORDS_PER_DESCRIPTION = 12
GOAL = "p95 ≤ 100 ms"


def _word(number_sql: str) -> str:
    """Vocabulary word number N: six letters a–p from md5(N), so every tokenizer keeps it whole."""
    return f"translate(substr(md5(({number_sql})::text), 1, 6), '0123456789', 'ghijklmnop')"


def _insert(cursor, model, source: str, values: dict[str, str]) -> None:
    """INSERT INTO model's table SELECT `values` (SQL per column) FROM `source`; every other
    column gets its field's default, so columns added later need no change here."""
    from django.db import connection

    columns, selects, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.column not in values:
            continue
        columns.append(field.column)
        if field.column in values:
            selects.append(values[field.column].replace("%", "%%"))  # SQL modulo, not a parameter
        else:
            selects.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))
    table = model._meta.db_table
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(selects)} "
        f"FROM {source.replace('%', '%%')}",
        params,
    )


def _first_id(cursor, table: str, where: str = "TRUE") -> int:
    cursor.execute(f"SELECT min(id) FROM {table} WHERE {where}")
    return cursor.fetchone()[0]


def _seed_people_and_styles(cursor) -> None:
    from stylevault.accounts.models import User
    from stylevault.styles.models import Style, Tag

    for role, count in (("artist", ARTISTS), ("user", BUYERS)):
        _insert(
            cursor,
            User,
            f"generate_series(1, {count}) AS g",
            {
                "username": f"'{role}' || g",
                "role": f"'{role}'",
                "password": "'!'",
                "date_joined": "now()",
            },
        )
    _insert(cursor, Tag, f"generate_series(1, {TAGS}) AS g", {"name": "'tag' || g"})
    artist0 = _first_id(cursor, "accounts_user", "role = 'artist'")
    words = ", ".join(
        _word(f"(g::bigint * {7919 + k * 104729} + {k}) % {WORDS}")
        for k in range(WORDS_PER_DESCRIPTION)
    )
    published = "g % 10 <> 0"
    _insert(
        cursor,
        Style,
        f"generate_series(1, {STYLES}) AS g",
        {
            "artist_id": f"{artist0} + g % {ARTISTS}",
            "name": "'style ' || g",
            "description": f"concat_ws(' ', {words})",
            "price_per_image": "5",
            "status": f"CASE WHEN {published} THEN 'published' ELSE 'training' END",
            "published_at": f"CASE WHEN {published} THEN now() - g * interval '3 seconds' END",
            "created_at": "now()",
            "updated_at": "now()",
        },
    )
    tag0 = _first_id(cursor, "styles_tag")
    cursor.execute(
        "INSERT INTO styles_style_tags (style_id, tag_id) "
        f"SELECT s.id, {tag0} + floor({TAGS} * power(random(), 2))::int "
        "FROM styles_style s CROSS JOIN generate_series(1, 3) ON CONFLICT DO NOTHING"
    )
    # What stylevault.styles.search.search_text_of writes: name, description, sorted tags.
    cursor.execute(
        "UPDATE styles_style s SET search_text = concat_ws(' ', s.name, s.description, t.names) "
        "FROM (SELECT st.style_id, string_agg(tag.name, ' ' ORDER BY tag.name) AS names "
        "FROM styles_style_tags st JOIN styles_tag tag ON tag.id = st.tag_id "
        "GROUP BY st.style_id) t WHERE t.style_id = s.id"
    )


def _seed_images(cursor) -> None:
    from stylevault.generation.models import Generation, Image

    buyer0 = _first_id(cursor, "accounts_user", "role = 'user'")
    style0 = _first_id(cursor, "styles_style")
    generations = IMAGES // IMAGES_PER_GENERATION
    _insert(
        cursor,
        Generation,
        f"generate_series(1, {generations}) AS g",
        {
            "owner_id": f"{buyer0} + g % {BUYERS}",
            "status": "'succeeded'",
            "prompts": "'[\"a lighthouse\"]'::jsonb",
            "seed": "g",
            "steps": "4",
            "cost": "5",
            "render_key": "md5(g::text) || md5((-g)::text)",
            "request_hash": "md5(g::text) || md5((-g)::text)",
            "created_at": "now()",
        },
    )
    generation0 = _first_id(cursor, "generation_generation")
    # Image g belongs to generation (g-1)/4; its style is a published one (style n where
    # n % 10 = 0 is in training, so those images take style n-1).
    source = (
        f"(SELECT g, {style0} - 1 + n - (n % 10 = 0)::int AS style_id "
        f"FROM (SELECT g, (g * 7) % {STYLES} + 1 AS n FROM generate_series(1, {IMAGES}) AS g) a) q "
        "JOIN styles_style s ON s.id = q.style_id"
    )
    public = "q.g % 10 < 7"
    _insert(
        cursor,
        Image,
        source,
        {
            "generation_id": f"{generation0} + (q.g - 1) / {IMAGES_PER_GENERATION}",
            "owner_id": f"{buyer0} + ((q.g - 1) / {IMAGES_PER_GENERATION} + 1) % {BUYERS}",
            "style_id": "q.style_id",
            "artist_id": "s.artist_id",
            "position": f"(q.g - 1) % {IMAGES_PER_GENERATION}",
            "prompt": "'a lighthouse'",
            "seed": "q.g",
            "width": "512",
            "height": "512",
            "path": "'x.png'",
            "mime_type": "'image/png'",
            "sha256": "md5(q.g::text) || md5((-q.g)::text)",
            "mark": "q.g",
            "visibility": f"CASE WHEN {public} THEN 'public' ELSE 'private' END",
            "created_at": "now() - q.g * interval '1 second'",
            "published_at": f"CASE WHEN {public} THEN now() - (q.g / 2) * interval '1 second' END",
        },
    )


def _queries(cursor) -> dict:
    """Request paths: pairs of the most used tags, and words of the vocabulary."""
    cursor.execute(
        "SELECT tag.name FROM styles_style_tags st JOIN styles_tag tag ON tag.id = st.tag_id "
        "GROUP BY tag.name ORDER BY count(*) DESC LIMIT 12"
    )
    tags = [row[0] for row in cursor.fetchall()]
    cursor.execute(f"SELECT {_word('n')} FROM unnest(ARRAY[1, 77, 500, 1234, 2718, 4321]) AS n")
    words = [row[0] for row in cursor.fetchall()]
    return {
        "two tags": [
            f"/api/v1/styles?tags={a},{b}" for a, b in zip(tags[::2], tags[1::2], strict=True)
        ],
        "text": [f"/api/v1/styles?q={word}" for word in words],
    }


def _child(data_dir: str) -> dict:
    """In the child process: migrate, seed, and hand back a token and the request paths."""
    os.environ.update(
        DATABASE_URL=PG_URL,
        STYLEVAULT_DATA_DIR=data_dir,
        STYLEVAULT_LOG_FORMAT="text",
        DJANGO_SETTINGS_MODULE="stylevault.settings",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from stylevault.accounts import services

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        _seed_people_and_styles(cursor)
        _seed_images(cursor)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        paths = _queries(cursor)
    seconds = round(time.perf_counter() - started)
    user = services.create_user(username="bench", password="correct horse battery 9")
    return {
        "token": services.create_token(user=user, name="bench")[1],
        "paths": paths,
        "seed_s": seconds,
    }


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


def _serve(env: dict, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "stylevault.cli", "serve", "--port", str(port), "--processes", "2"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main(connections: int = 100, total: int = 10000) -> list[dict]:
    _pg_admin(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    _pg_admin(f"CREATE DATABASE {BENCH_DB}")
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            seeded, problem = run_child(__file__, [data_dir])
            if seeded is None:
                raise RuntimeError(f"seeding failed: {problem}")
            env = {
                **os.environ,
                "DATABASE_URL": PG_URL,
                "STYLEVAULT_DATA_DIR": data_dir,
                "STYLEVAULT_LOG_FORMAT": "text",
                "STYLEVAULT_RATE_API": "1000000/m",
                "STYLEVAULT_REDIS_URL": "redis://127.0.0.1:6379/13",
            }
            port = free_port()
            server = _serve(env, port)
            try:
                _wait(port, server)
                return _load_all(port, seeded, connections, total)
            finally:
                server.terminate()
                server.wait(timeout=20)
    finally:
        _pg_admin(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def _load_all(port: int, seeded: dict, connections: int, total: int) -> list[dict]:
    """Each scenario alone (one connection: what a request costs) and under load. The first
    request of each distinct path finds no page kept in the server (stylevault.core.readcache):
    its latency is the "first ms" column, what a query nobody asked recently costs."""
    scenarios = {"feed": ["/api/v1/feed"], **seeded["paths"]}
    headers = {"Authorization": f"Bearer {seeded['token']}"}
    rows = []
    for name, paths in scenarios.items():
        first = load(
            "127.0.0.1", port, paths, headers=headers, connections=1, total=len(paths), warmup=0
        )
        for conns, requests in ((1, total // 10), (connections, total)):
            result = load(
                "127.0.0.1", port, paths, headers=headers, connections=conns, total=requests
            )
            row = result.row(f"{name}: 100k styles, 1M images, {conns} conns, PostgreSQL")
            row["first ms"] = round(first.percentile(50), 1)
            row["seed s"] = seeded["seed_s"]
            row["goal"] = GOAL
            rows.append(row)
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        import json

        print(json.dumps(_child(sys.argv[2])))
    else:
        from tests.bench.run import print_table

        print_table(main())
