"""Account reads."""

from __future__ import annotations

import functools

from django.db.models import QuerySet

from stylevault import sqlrows
from stylevault.accounts.models import ApiToken, ArtistApplication, User


@functools.cache
def _token_sql() -> str:
    return (
        f"SELECT {sqlrows.columns(ApiToken, 't')}, {sqlrows.columns(User, 'u')} "
        f"FROM {sqlrows.table(ApiToken)} t JOIN {sqlrows.table(User)} u ON u.id = t.user_id "
        "WHERE t.token_hash = %s AND t.revoked_at IS NULL AND u.is_active"
    )


def user_by_token(token_hash: str) -> ApiToken | None:
    """The live token with this hash, its user loaded; runs on every API request, hence SQL
    written once (stylevault.sqlrows)."""
    rows = sqlrows.fetch(_token_sql(), [token_hash], ApiToken, User)
    if not rows:
        return None
    token, user = rows[0]
    token.user = user
    return token


def tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True)


def applications_of(user: User) -> QuerySet[ArtistApplication]:
    return ArtistApplication.objects.filter(user=user)
