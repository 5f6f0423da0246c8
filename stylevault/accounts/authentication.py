"""`Authorization: Bearer <token>` with a personal API token (no CSRF: no cookie involved)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from stylevault.accounts import selectors, services


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Malformed Authorization header."))
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        token = selectors.user_by_token(services.hash_token(raw))
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        services.touch_token(token)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


def authenticate_request(request):
    """The user of a plain Django request (views outside DRF, such as async streams): a bearer
    token when one is sent, else the session's user; None when neither identifies anyone."""
    try:
        found = BearerTokenAuthentication().authenticate(request)
    except exceptions.AuthenticationFailed:
        return None
    if found is not None:
        return found[0]
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None
