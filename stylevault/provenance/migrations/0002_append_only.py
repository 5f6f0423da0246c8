"""The database refuses to change or delete provenance events and signed tree heads.

PostgreSQL: a BEFORE UPDATE OR DELETE row trigger raising an exception. (TRUNCATE, which
needs the table's owner, is not refused: Django's test flush uses it.)
SQLite: BEFORE UPDATE and BEFORE DELETE triggers that abort. (Django's `flush` deletes rows
on SQLite; the provenance app's own `flush` command lifts these triggers for that only.)
Tampering past these (a superuser disabling the triggers) is what `stylevault provenance
verify` and the signed tree heads catch."""

from django.db import migrations

TABLES = ("provenance_event", "provenance_treehead")

PG_SQL = [
    """
CREATE OR REPLACE FUNCTION provenance_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the provenance log is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql""",
    *(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION provenance_append_only()"
        for table in TABLES
    ),
]
PG_REVERSE = [
    *(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}" for table in TABLES),
    "DROP FUNCTION IF EXISTS provenance_append_only()",
]

SQLITE_SQL = [
    f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
    f"BEGIN SELECT RAISE(ABORT, 'the provenance log is append-only: {op} on {table} is refused'); END"
    for table in TABLES
    for op in ("UPDATE", "DELETE")
]
SQLITE_REVERSE = [
    f"DROP TRIGGER IF EXISTS {table}_no_{op.lower()}"
    for table in TABLES
    for op in ("UPDATE", "DELETE")
]


def _run(schema_editor, statements: dict) -> None:
    for statement in statements.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement, params=None)


def forward(apps, schema_editor):
    _run(schema_editor, {"postgresql": PG_SQL, "sqlite": SQLITE_SQL})


def backward(apps, schema_editor):
    _run(schema_editor, {"postgresql": PG_REVERSE, "sqlite": SQLITE_REVERSE})


class Migration(migrations.Migration):
    dependencies = [("provenance", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
