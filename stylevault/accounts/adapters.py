"""allauth hooks: Google sign-ins become ordinary local users with a safe username."""

from __future__ import annotations

from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.http import Http404


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_app(self, request, provider, client_id=None):
        # Google sign-in without credentials configured: its URLs answer 404, not 500.
        try:
            return super().get_app(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist:
            raise Http404(provider) from None

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        if request is not None and getattr(request, "LANGUAGE_CODE", None) in {"en", "ko"}:
            user.locale = request.LANGUAGE_CODE
        return user
