"""Verification page forms: field types only; the checks live in verification.services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class VerifyForm(forms.Form):
    image = forms.FileField(
        label=_("Image (PNG, JPEG or WebP)"),
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )
