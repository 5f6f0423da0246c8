"""Account reads."""

from __future__ import annotations

from django.db.models import QuerySet

from stylevault.accounts.models import ApiToken, ArtistApplication, User


def user_by_token(token_hash: str) -> ApiToken | None:
    return (
        ApiToken.objects.select_related("user")
        .filter(token_hash=token_hash, revoked_at__isnull=True, user__is_active=True)
        .first()
    )


def tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True)


def applications_of(user: User) -> QuerySet[ArtistApplication]:
    return ArtistApplication.objects.filter(user=user)
