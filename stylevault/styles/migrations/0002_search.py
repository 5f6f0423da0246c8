"""Full-text search over Style.search_text: a generated tsvector column with a GIN index on
PostgreSQL, an FTS5 table kept in step by triggers on SQLite (see stylevault.styles.search).
Fills search_text first."""

from django.db import migrations

from stylevault.styles.search import drop_sqlite_index, install_sqlite_index, search_text_of

# A stored tsvector: matching reads it instead of re-parsing search_text for each row.
PG_SQL = [
    "ALTER TABLE styles_style ADD COLUMN IF NOT EXISTS search_vector tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple'::regconfig, COALESCE(search_text, ''))) STORED",
    "CREATE INDEX IF NOT EXISTS styles_style_search ON styles_style USING gin (search_vector) "
    "WHERE status = 'published'",
]
PG_REVERSE = [
    "DROP INDEX IF EXISTS styles_style_search",
    "ALTER TABLE styles_style DROP COLUMN IF EXISTS search_vector",
]


def fill_search_text(apps, schema_editor):
    Style = apps.get_model("styles", "Style")
    for style in Style.objects.using(schema_editor.connection.alias).prefetch_related("tags"):
        style.search_text = search_text_of(
            style.name, style.description, [tag.name for tag in style.tags.all()]
        )
        style.save(update_fields=["search_text"])


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for statement in PG_SQL:
            schema_editor.execute(statement)
    elif vendor == "sqlite":
        with schema_editor.connection.cursor() as cursor:
            install_sqlite_index(cursor)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for statement in PG_REVERSE:
            schema_editor.execute(statement)
    elif vendor == "sqlite":
        with schema_editor.connection.cursor() as cursor:
            drop_sqlite_index(cursor)


class Migration(migrations.Migration):
    dependencies = [("styles", "0001_initial")]

    operations = [
        migrations.RunPython(fill_search_text, migrations.RunPython.noop),
        migrations.RunPython(forward, backward),
    ]
