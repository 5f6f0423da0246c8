"""The studio's upload form: a portrait and one of the published styles."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from stylevault.styles.models import Style, StyleStatus


class PhotoForm(forms.Form):
    image = forms.FileField(
        label=_("Portrait (JPEG, PNG or HEIC)"),
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/heic,image/heif"}
        ),
    )
    style = forms.ModelChoiceField(
        label=_("Style"), queryset=Style.objects.filter(status=StyleStatus.PUBLISHED)
    )
