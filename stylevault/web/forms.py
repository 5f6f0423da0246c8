"""Page forms: field types and required-ness only; every rule lives in the services."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class SignupForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=30)
    email = forms.EmailField(label=_("E-mail (optional)"), required=False)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, max_length=128)


class LoginForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, max_length=128)


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100)


class LocaleForm(forms.Form):
    locale = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)


class ArtistApplicationForm(forms.Form):
    email = forms.EmailField(label=_("Contact e-mail"))
    signature = forms.FileField(label=_("Signature image (PNG, JPEG or WebP, up to 2 MB)"))
