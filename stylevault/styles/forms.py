"""Style page forms: field types and required-ness only. Every rule (lengths, price range,
file checks, tier limits) lives in styles.services, so the pages and the API refuse the same
things with the same words. The generator on a style's page is generation.forms.Generator."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Any number of files, handed to the service unchecked: it checks each by its bytes."""

    widget = MultipleFileInput

    def clean(self, data, initial=None) -> list:
        if isinstance(data, list | tuple):
            return list(data)
        return [data] if data else []


class StyleForm(forms.Form):
    name = forms.CharField(label=_("Name"))
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    tags = forms.CharField(label=_("Tags (comma-separated)"), required=False)
    price_per_image = forms.CharField(
        label=_("Price per image (credits)"), widget=forms.NumberInput(attrs={"min": 1})
    )
    nsfw_allowed = forms.BooleanField(label=_("Allow adult (NSFW) prompts"), required=False)
    images = MultipleFileField(
        label=_("Training images: 10 to 100 JPEG or PNG files, at least 512×512, 10 MB each"),
        required=False,
        widget=MultipleFileInput(attrs={"accept": "image/png,image/jpeg"}),
    )
    lora = forms.FileField(
        label=_("Or import a LoRA trained elsewhere (safetensors)"),
        required=False,
        widget=forms.FileInput(attrs={"accept": ".safetensors"}),
    )


class PriceForm(forms.Form):
    price_per_image = forms.CharField(
        label=_("Price per image (credits)"), widget=forms.NumberInput(attrs={"min": 1})
    )
