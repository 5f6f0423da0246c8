"""Style search: published styles by tags (all of them) and by text; the most used tags.

Text search runs on the database's own full-text index over `Style.search_text` (name,
description and tag names, kept current by refresh_search_text):
- PostgreSQL: a generated column search_vector = to_tsvector('simple', search_text), with a
  GIN index over published styles. The 'simple' configuration does no stemming, so English
  and Korean text are treated alike.
- SQLite (embedded mode): an FTS5 table with the styles table as its content, kept in step by
  triggers (install_sqlite_index).
Every query word must match, as a word prefix: "cat" finds "cats", "고양이" finds "고양이를".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db import connection
from django.db.models import Count, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from stylevault.core import errors
from stylevault.core.readcache import ReadCache
from stylevault.styles.models import Style, StyleStatus, Tag

MAX_WORDS, MAX_TAGS = 8, 10
# Pages of GET /api/v1/styles by their URL: the same for every viewer.
LISTING = ReadCache("styles")
# Letters and digits only: what both full-text tokenizers keep, and nothing that could be
# query syntax in tsquery or FTS5 MATCH.
_WORD = re.compile(r"[^\W_]+")

FTS_TABLE = "styles_style_fts"
_SQLITE_TRIGGERS = {
    f"{FTS_TABLE}_insert": (
        "AFTER INSERT ON styles_style BEGIN "
        f"INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END"
    ),
    f"{FTS_TABLE}_delete": (
        "AFTER DELETE ON styles_style BEGIN "
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); END"
    ),
    f"{FTS_TABLE}_update": (
        "AFTER UPDATE OF search_text ON styles_style BEGIN "
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); "
        f"INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END"
    ),
}


def search_text_of(name: str, description: str, tag_names: Iterable[str]) -> str:
    return " ".join([name, description, *sorted(tag_names)])


def refresh_search_text(style: Style) -> None:
    """Recomputes what text search finds `style` by; call after changing its name,
    description or tags."""
    tag_names = style.tags.values_list("name", flat=True)
    style.search_text = search_text_of(style.name, style.description, tag_names)
    Style.objects.filter(pk=style.pk).update(search_text=style.search_text)
    if style.status == StyleStatus.PUBLISHED:
        LISTING.changed()


def listing_changed(*, instance, action=None, update_fields=None, **kwargs) -> None:
    """Receives Style saves and deletes and changes of style tags (styles.apps). Saves of a
    style that is not listed, and that do not change its status, change no listing: those
    are the many saves of a style in training."""
    if action is not None and not action.startswith("post_"):
        return  # m2m_changed also announces a change before making it
    if (
        not isinstance(instance, Style)
        or instance.status == StyleStatus.PUBLISHED
        or update_fields is None
        or "status" in update_fields
    ):
        LISTING.changed()


def _with_tags(rows: QuerySet[Style], names: set[str]) -> QuerySet[Style]:
    """Styles carrying every named tag (names match case-insensitively). The tag ids are
    looked up first, so the database plans the style query with each tag's frequency."""
    through = Style.tags.through
    for name in names:
        tag_ids = list(Tag.objects.filter(name__iexact=name).values_list("id", flat=True))
        if not tag_ids:
            return rows.none()
        rows = rows.filter(id__in=through.objects.filter(tag_id__in=tag_ids).values("style_id"))
    return rows


def _with_words(rows: QuerySet[Style], words: list[str]) -> QuerySet[Style]:
    if connection.vendor == "postgresql":
        # django.contrib.postgres needs psycopg: only on PostgreSQL.
        from django.contrib.postgres.search import SearchQuery, SearchVectorField

        # The generated column of migrations/0002_search.py, which the GIN index covers.
        document = RawSQL("styles_style.search_vector", [], output_field=SearchVectorField())
        query = SearchQuery(" & ".join(f"{w}:*" for w in words), search_type="raw", config="simple")
        return rows.alias(document=document).filter(document=query)
    match = " AND ".join(f'"{w}"*' for w in words)
    matching = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # the words: a parameter
    return rows.filter(id__in=RawSQL(matching, (match,)))  # noqa: S611


def search_styles(*, tags: Iterable[str] = (), q: str = "") -> QuerySet[Style]:
    """Published styles with all of `tags` and every word of `q` (its first MAX_WORDS words),
    newest first."""
    rows = Style.objects.filter(status=StyleStatus.PUBLISHED)
    names = {name.strip() for name in tags if name.strip()}
    if len(names) > MAX_TAGS:
        message = _("Search with at most %(max)d tags.") % {"max": MAX_TAGS}
        raise errors.ValidationFailed(message, details={"fields": {"tags": [message]}})
    rows = _with_tags(rows, names)
    words = _WORD.findall(q.lower())[:MAX_WORDS]
    if words:
        rows = _with_words(rows, words)
    return rows.select_related("artist").prefetch_related("tags").order_by("-published_at", "-id")


def popular_tags(limit: int = 20) -> list[dict]:
    """The `limit` tags carried by the most published styles: [{"name", "count"}]."""
    rows = (
        Tag.objects.filter(styles__status=StyleStatus.PUBLISHED)
        .annotate(count=Count("styles"))
        .order_by("-count", "name")[:limit]
    )
    return [{"name": tag.name, "count": tag.count} for tag in rows]


def install_sqlite_index(cursor) -> None:
    """Creates the FTS5 table and its triggers where missing, and re-indexes every style when
    any trigger was missing: SQLite drops a table's triggers when a migration rebuilds the
    table, so this also runs after every migrate (see CommunityConfig.ready)."""
    cursor.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
        "search_text, content='styles_style', content_rowid='id', tokenize='unicode61')"
    )
    cursor.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'styles_style'"
    )
    present = {row[0] for row in cursor.fetchall()}
    missing = [name for name in _SQLITE_TRIGGERS if name not in present]
    for name in missing:
        cursor.execute(f"CREATE TRIGGER {name} {_SQLITE_TRIGGERS[name]}")
    if missing:
        cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")


def drop_sqlite_index(cursor) -> None:
    for name in _SQLITE_TRIGGERS:
        cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
    cursor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
