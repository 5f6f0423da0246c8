"""Model instances from hand-written SQL, for the few reads made on nearly every request.

Building an ORM query costs 0.3–1 ms of Python; running a lookup by key costs a tenth of
that (measured on GET /api/v1/me: its three ORM lookups were 70% of the request). A
statement written once, with its rows converted by the same converters the ORM applies,
keeps those reads cheap and returns ordinary model instances.
"""

from __future__ import annotations

import functools

from django.db import connection
from django.db.models import Model


@functools.cache
def columns(model: type[Model], alias: str) -> str:
    """Every concrete column of `model` as `alias."column", ...`, in field order."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


@functools.cache
def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@functools.cache
def _loader(model: type[Model]) -> tuple[list[str], list[tuple[int, list, object]]]:
    """The attribute names of `model`'s columns and, per column that needs them, the
    converters the ORM would run on its values (dates and booleans on SQLite, JSON, ...)."""
    names, converters = [], []
    for index, field in enumerate(model._meta.concrete_fields):
        names.append(field.attname)
        column = field.get_col(model._meta.db_table)
        functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if functions:
            converters.append((index, functions, column))
    return names, converters


def fetch(sql: str, params: list, *models: type[Model]) -> list[tuple[Model, ...]]:
    """Runs `sql`, whose columns are `columns(model, ...)` of each of `models` in turn, and
    returns one tuple of instances per row."""
    return [instances(row, *models) for row in rows(sql, params)]


def rows(sql: str, params: list) -> list[tuple]:
    """The raw rows of `sql`: what a cache keeps, to make fresh instances of each time."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def instances(row: tuple, *models: type[Model]) -> tuple[Model, ...]:
    """One instance of each of `models` from `row`, whose columns are `columns(model, ...)`
    of each in turn."""
    found, start = [], 0
    for model in models:
        names, converters = _loader(model)
        values = list(row[start : start + len(names)])
        for index, functions, column in converters:
            for convert in functions:
                values[index] = convert(values[index], column, connection)
        found.append(model.from_db(connection.alias, names, values))
        start += len(names)
    return tuple(found)
