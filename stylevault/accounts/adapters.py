"""allauth hooks: its sign-up form keeps our username rules; Google sign-ins become ordinary
local users with a safe username."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django import forms
from django.http import Http404

from stylevault.accounts import services
from stylevault.core import errors


class AccountAdapter(DefaultAccountAdapter):
    def clean_username(self, username, shallow=False):
        """accounts.services' rules (NFKC, allowed characters, no look-alike of an existing
        name), so /accounts/signup/ admits exactly the names the API and our pages do."""
        try:
            username = services.clean_username(username)
        except errors.DomainError as exc:
            raise forms.ValidationError(exc.message) from None
        return super().clean_username(username, shallow=shallow)


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
