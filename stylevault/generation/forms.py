"""Generation page forms: field types only; the rules live in generation.services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from stylevault.generation.models import Visibility


class ImageForm(forms.Form):
    visibility = forms.ChoiceField(label=_("Visibility"), choices=Visibility.choices)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
