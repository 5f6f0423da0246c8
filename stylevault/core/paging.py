"""Keyset ("seek") pagination over (timestamp, id).

A page starts strictly after the last row of the previous one, so rows that arrive while a
client scrolls never make a page repeat or skip an older row (offsets would shift). The cursor
is opaque to clients: base64 of the last row's timestamp and id.
"""

from __future__ import annotations

import base64
import binascii
import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.utils.urls import replace_query_param

from stylevault.core import errors

T = TypeVar("T", bound=Model)

DEFAULT_LIMIT, MAX_LIMIT = 20, 100
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(at: datetime, pk: int) -> str:
    raw = f"{at.isoformat()}|{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The cursor's (timestamp, id); a VALIDATION_ERROR for anything we did not hand out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, pk = raw.split("|")
        at_time, pk_value = datetime.fromisoformat(at), int(pk)
        if at_time.tzinfo is None or not 0 < pk_value <= MAX_ID:
            raise ValueError(raw)
        at_time = at_time.astimezone(UTC)  # what the database compares with
    except (binascii.Error, UnicodeError, ValueError, OverflowError) as exc:
        raise invalid_cursor() from exc
    return at_time, pk_value


def invalid_cursor() -> errors.ValidationFailed:
    """The one error for every cursor we did not hand out (keyset pages and DRF's cursors)."""
    return errors.ValidationFailed(
        _("The page cursor is not valid; start from the first page."),
        details={"fields": {"cursor": ["invalid"]}},
    )


def keyset_page(
    queryset: QuerySet[T],
    *,
    field: str,
    cursor: str | None,
    limit: int = DEFAULT_LIMIT,
    descending: bool = True,
) -> Page[T]:
    """One page of `queryset` ordered by (`field`, id), newest first unless `descending` is
    False. `field` must never be NULL on the rows paged (filter them out before)."""
    sign = "-" if descending else ""
    rows = queryset.order_by(f"{sign}{field}", f"{sign}id")
    if cursor:
        at, pk = decode_cursor(cursor)
        op = "lt" if descending else "gt"
        # The redundant `field <= at` bound lets the database range-scan the (field, id) index.
        rows = rows.filter(**{f"{field}__{op}e": at}).filter(
            Q(**{f"{field}__{op}": at}) | Q(**{field: at, f"id__{op}": pk})
        )
    fetched = list(rows[: limit + 1])
    items = fetched[:limit]
    more = len(fetched) > limit
    return Page(items, encode_cursor(getattr(items[-1], field), items[-1].pk) if more else None)


class PageQuery(serializers.Serializer):
    """The query parameters of every keyset-paginated list."""

    def get_fields(self) -> dict:
        # Query parameters are flat scalar fields: a copy of each is enough to bind it to this
        # serializer. DRF deep-copies them (arguments and validators too), which was a quarter
        # of a feed request served from the read cache.
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}

    cursor = serializers.CharField(required=False, max_length=200, help_text="From `next`.")
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT
    )


def next_link(request, page: Page) -> str | None:
    """API.md's `next`: this request's URL with the next page's cursor, or None at the end."""
    if page.next_cursor is None:
        return None
    return replace_query_param(request.build_absolute_uri(), "cursor", page.next_cursor)
