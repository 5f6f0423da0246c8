"""Account reads."""

from __future__ import annotations

import functools

from django.db.models import QuerySet

from stylevault.accounts.models import ApiToken, ArtistApplication, User
from stylevault.core import sqlrows
from stylevault.core.readcache import ReadCache

# Live tokens and their users, by token hash, in web servers that hear of changes pushed by
# the database (stylevault.core.readcache): a revoked token or a deactivated user stops working in
# the process that made the change when it commits, and in the others when they hear of it
# (typically within a millisecond). Kept as rows, so each request gets instances of its own.
TOKENS = ReadCache("tokens", seconds=60.0, entries=4096, pushed_only=True)


@functools.cache
def _token_sql() -> str:
    return (
        f"SELECT {sqlrows.columns(ApiToken, 't')}, {sqlrows.columns(User, 'u')} "
        f"FROM {sqlrows.table(ApiToken)} t JOIN {sqlrows.table(User)} u ON u.id = t.user_id "
        "WHERE t.token_hash = %s AND t.revoked_at IS NULL AND u.is_active"
    )


def user_by_token(token_hash: str) -> ApiToken | None:
    """The live token with this hash, its user loaded; runs on every API request, hence SQL
    written once (stylevault.core.sqlrows) and kept while nothing changes. Unknown hashes are not
    kept: a new token must work at once, and guesses must not fill the cache."""
    rows = TOKENS.get(token_hash, lambda: sqlrows.rows(_token_sql(), [token_hash]), keep=bool)
    if not rows:
        return None
    token, user = sqlrows.instances(rows[0], ApiToken, User)
    token.user = user
    return token


def tokens_changed(*, update_fields=None, **kwargs) -> None:
    """Receives saves and deletes of users and tokens (accounts.apps), the console's too:
    any of them may end a token's use or change what its requests may do. A log-in's own
    save (last_login) changes nothing a token request reads."""
    if update_fields is None or set(update_fields) != {"last_login"}:
        TOKENS.changed()


def tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True)


def applications_of(user: User) -> QuerySet[ArtistApplication]:
    return ArtistApplication.objects.filter(user=user)
