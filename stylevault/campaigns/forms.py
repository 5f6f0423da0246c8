"""Campaign studio page forms: field types only; the rules live in campaigns.services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from stylevault.campaigns.models import BusinessType, Language, Tone
from stylevault.campaigns.turns import AD_RATIOS


class BrandForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    business_type = forms.ChoiceField(label=_("Business type"), choices=BusinessType.choices)
    tone = forms.ChoiceField(label=_("Tone"), choices=Tone.choices)
    language = forms.ChoiceField(label=_("Language of the ads"), choices=Language.choices)
    primary_color = forms.CharField(
        label=_("Primary colour"), widget=forms.TextInput(attrs={"type": "color"}), required=False
    )
    secondary_color = forms.CharField(
        label=_("Secondary colour"), widget=forms.TextInput(attrs={"type": "color"}), required=False
    )
    logo = forms.FileField(label=_("Logo (PNG or JPEG)"), required=False)
    colors_from_logo = forms.BooleanField(label=_("Pick the colours from the logo"), required=False)
    default_style_id = forms.TypedChoiceField(
        label=_("Default style"), coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args, styles=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_style_id"].choices = [("", "—"), *((s.pk, s.name) for s in styles)]


class MessageForm(forms.Form):
    text = forms.CharField(
        label=_("Your message"),
        max_length=2000,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": _("New winter menu at my cafe, 3:4")}
        ),
    )
    style_id = forms.TypedChoiceField(
        label=_("Style"), coerce=int, required=False, empty_value=None
    )
    aspect_ratio = forms.ChoiceField(
        label=_("Aspect ratio"), choices=[("", "—"), *((r, r) for r in AD_RATIOS)], required=False
    )

    def __init__(self, *args, styles=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["style_id"].choices = [("", "—"), *((s.pk, s.name) for s in styles)]
