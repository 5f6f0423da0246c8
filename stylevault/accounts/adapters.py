"""allauth hooks: Google sign-ins become ordinary local users with a safe username."""

from __future__ import annotations

from allauth.socialaccount.adapter import DefaultSocialAccountAdapter


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        if request is not None and getattr(request, "LANGUAGE_CODE", None) in {"en", "ko"}:
            user.locale = request.LANGUAGE_CODE
        return user
