"""Style search: tags (all must match, any case), text through the database's full-text
index (PostgreSQL tsvector / SQLite FTS5), published styles only; the 20 most used tags."""

from __future__ import annotations

import pytest
from django.db import connection

from stylevault.core import errors
from stylevault.styles.models import Style, Tag
from stylevault.styles.search import (
    FTS_TABLE,
    install_sqlite_index,
    popular_tags,
    refresh_search_text,
    search_styles,
)
from tests.community.factories import make_style
from tests.conftest import on_postgres, on_sqlite

pytestmark = pytest.mark.django_db


@pytest.fixture
def artist(make_user):
    return make_user("painter", artist=True)


@pytest.fixture
def catalogue(artist):
    return {
        "cats": make_style(artist, name="Sleepy cats", tags=("ink", "animals")),
        "city": make_style(
            artist, name="City lights", description="Neon streets at night", tags=("ink", "urban")
        ),
        "korean": make_style(
            artist, name="수묵화", description="고양이를 그린 먹 그림", tags=("animals", "수묵")
        ),
        "draft": make_style(artist, name="Unfinished cats", tags=("ink",), status="training"),
        "review": make_style(artist, name="Flagged cats", tags=("ink",), status="in_review"),
    }


def names(rows) -> set[str]:
    return {style.name for style in rows}


def test_tags_must_all_match(catalogue):
    assert names(search_styles(tags=["ink"])) == {"Sleepy cats", "City lights"}
    assert names(search_styles(tags=["ink", "animals"])) == {"Sleepy cats"}
    assert names(search_styles(tags=["INK", " Animals "])) == {"Sleepy cats"}
    assert names(search_styles(tags=["ink", "nonexistent"])) == set()
    assert names(search_styles(tags=["수묵"])) == {"수묵화"}


def test_text_matches_word_prefixes_in_name_description_and_tags(catalogue):
    assert names(search_styles(q="cat")) == {"Sleepy cats"}
    assert names(search_styles(q="NEON night")) == {"City lights"}
    assert names(search_styles(q="urban")) == {"City lights"}  # a tag name
    assert names(search_styles(q="고양이")) == {"수묵화"}  # "고양이를": a prefix
    assert names(search_styles(q="neon cats")) == set()  # every word must match
    assert names(search_styles(q="cats", tags=["animals"])) == {"Sleepy cats"}


def test_query_syntax_is_never_interpreted(catalogue):
    for q in ('"', "cat*", "cat:* | city", "a & !b", "NEAR(x y)", "(", "'", "\\", "-cat", "_"):
        list(search_styles(q=q))  # no error from the full-text parser
    assert names(search_styles(q="!!!")) == names(search_styles())  # no words: no text filter
    assert names(search_styles(q="cat:* | city")) == set()


def test_only_published_styles_are_found(catalogue):
    found = names(search_styles())
    assert "Unfinished cats" not in found and "Flagged cats" not in found
    assert names(search_styles(q="unfinished")) == set()


def test_results_are_newest_first(catalogue):
    assert [s.name for s in search_styles(tags=["ink"])] == ["City lights", "Sleepy cats"]


def test_editing_a_style_moves_it_in_text_search(catalogue):
    style = catalogue["city"]
    style.description = "Rainy harbour"
    style.save()
    style.tags.add(Tag.objects.create(name="watercolor"))
    refresh_search_text(style)
    assert names(search_styles(q="neon")) == set()
    assert names(search_styles(q="harbour watercolor")) == {"City lights"}
    style.delete()
    assert names(search_styles(q="harbour")) == set()


def test_too_many_tags_is_a_validation_error(catalogue):
    with pytest.raises(errors.ValidationFailed):
        search_styles(tags=[f"t{n}" for n in range(11)])


def test_popular_tags_count_published_styles_only(artist, catalogue):
    for n in range(25):
        tags = (f"tag{n:02d}", "ink") if n < 3 else (f"tag{n:02d}",)
        make_style(artist, name=f"filler {n}", tags=tags)
    top = popular_tags()
    assert len(top) == 20
    assert top[0] == {"name": "ink", "count": 5}  # the draft and the flagged style do not count
    assert top[1] == {"name": "animals", "count": 2}
    assert all(tag["count"] == 1 for tag in top[2:])
    assert popular_tags(limit=1) == [{"name": "ink", "count": 5}]


@pytest.mark.skipif(not on_postgres(), reason="PostgreSQL index")
def test_postgres_text_search_uses_the_gin_index(artist, catalogue):
    fillers = [
        Style(
            artist=artist,
            name="filler",
            search_text=f"filler {n}",
            price_per_image=1,
            status="published",
        )
        for n in range(3000)
    ]
    Style.objects.bulk_create(fillers)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE styles_style")
        sql, params = search_styles(q="cats").query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "styles_style_search" in plan, plan


@pytest.mark.skipif(not on_sqlite(), reason="SQLite FTS5 table")
def test_sqlite_index_survives_a_table_rebuild(catalogue):
    with connection.cursor() as cursor:
        # What SQLite does to triggers when a migration rebuilds the styles table.
        cursor.execute("DROP TRIGGER styles_style_fts_update")
        Style.objects.filter(pk=catalogue["cats"].pk).update(search_text="Sleepy dogs")
        install_sqlite_index(cursor)  # as after every migrate
        cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('integrity-check')")
    assert names(search_styles(q="dogs")) == {"Sleepy cats"}
    assert names(search_styles(q="cat")) == set()
