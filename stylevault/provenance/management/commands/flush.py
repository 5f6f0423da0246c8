"""Django's `flush`, able to empty the append-only provenance tables on SQLite.

On PostgreSQL `flush` truncates, which row triggers do not see. On SQLite it runs DELETE,
which the provenance triggers refuse; this command lifts them for the flush only, in the
same transaction, and puts them back exactly as they were (read from sqlite_master). Test
suites rely on `flush` between transactional tests.
"""

from __future__ import annotations

from django.core.management.commands import flush
from django.db import DEFAULT_DB_ALIAS, connections, transaction

TABLES = ("provenance_event", "provenance_treehead")


class Command(flush.Command):
    def handle(self, **options):
        database = options.get("database") or DEFAULT_DB_ALIAS
        connection = connections[database]
        if connection.vendor != "sqlite":
            return super().handle(**options)
        with transaction.atomic(using=database):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN "
                    f"({', '.join(['%s'] * len(TABLES))})",
                    TABLES,
                )
                triggers = cursor.fetchall()
                for name, _sql in triggers:
                    cursor.execute(f'DROP TRIGGER "{name}"')
            result = super().handle(**options)
            with connection.cursor() as cursor:
                for _name, sql in triggers:
                    cursor.execute(sql)
        return result
