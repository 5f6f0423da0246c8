"""Generation page forms: field types only; the rules (blends, counts, sizes) live in
generation.services, so the pages and the API refuse the same things with the same words."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from stylevault.core.paging import MAX_ID
from stylevault.engine.sizes import ASPECT_RATIOS
from stylevault.generation.models import Visibility
from stylevault.generation.services import MAX_BLEND, MAX_COUNT, MAX_SEED, MAX_STEPS, MAX_WEIGHT

WEIGHT_BOUNDS = {"min_value": 0.0001, "max_value": MAX_WEIGHT}

BLEND_SLOTS = range(1, MAX_BLEND)  # the page's style plus up to MAX_BLEND - 1 others


class ImageForm(forms.Form):
    visibility = forms.ChoiceField(label=_("Visibility"), choices=Visibility.choices)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class GenerateForm(forms.Form):
    prompt = forms.CharField(
        label=_("Prompt"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    negative_prompt = forms.CharField(label=_("Negative prompt (optional)"), required=False)
    aspect_ratio = forms.ChoiceField(
        label=_("Aspect ratio"), choices=[(r, r) for r in ASPECT_RATIOS], initial="1:1"
    )
    seed = forms.IntegerField(
        label=_("Seed (empty for a random one)"), required=False, min_value=0, max_value=MAX_SEED
    )
    count = forms.IntegerField(
        label=_("Number of images"), initial=1, required=False, min_value=1, max_value=MAX_COUNT
    )
    steps = forms.IntegerField(
        label=_("Steps (empty for the default)"), required=False, min_value=1, max_value=MAX_STEPS
    )
    weight = forms.FloatField(
        label=_("Weight of this style"), initial=1, required=False, **WEIGHT_BOUNDS
    )


class BlendForm(forms.Form):
    """Up to MAX_BLEND - 1 more styles mixed into the page's style, each by id and weight."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for n in BLEND_SLOTS:
            self.fields[f"style_{n}"] = forms.IntegerField(
                label=gettext("Style id %(n)s") % {"n": n},
                required=False,
                min_value=1,
                max_value=MAX_ID,
            )
            self.fields[f"weight_{n}"] = forms.FloatField(
                label=gettext("Weight %(n)s") % {"n": n}, required=False, **WEIGHT_BOUNDS
            )

    def pairs(self) -> list[tuple[int | None, float | None]]:
        return [
            (self.cleaned_data[f"style_{n}"], self.cleaned_data[f"weight_{n}"]) for n in BLEND_SLOTS
        ]


@dataclass
class Generator:
    """The generator's two forms and its idempotency key: a new key per rendered form, so a
    double submit makes one generation and the next submit a new one."""

    main: GenerateForm
    blend: BlendForm
    key: str

    @classmethod
    def read(cls, data: QueryDict | None = None) -> Generator:
        key = data.get("idempotency_key", "") if data is not None else str(uuid.uuid4())
        return cls(GenerateForm(data), BlendForm(data, prefix="blend"), key)

    def is_valid(self) -> bool:
        return all([self.main.is_valid(), self.blend.is_valid()])  # both, for all errors

    def error_text(self) -> str:
        return " ".join(
            str(error)
            for form in (self.main, self.blend)
            for errors in form.errors.values()
            for error in errors
        )

    def body(self, style_id: int) -> dict:
        """API.md's generation request, with the page's style first."""
        data = self.main.cleaned_data
        pairs = [(style_id, data["weight"]), *self.blend.pairs()]
        styles = [
            {"id": sid} if weight is None else {"id": sid, "weight": weight}
            for sid, weight in pairs
            if sid is not None
        ]
        body = {
            "styles": styles,
            "prompt": data["prompt"],
            "negative_prompt": data["negative_prompt"],
            "aspect_ratio": data["aspect_ratio"],
        }
        body.update({k: data[k] for k in ("seed", "count", "steps") if data[k] is not None})
        return body
