"""The hot path's hand-built bodies are the schema's: each key of generation_payload and
image_payload is a field of the `*Out` serializer the OpenAPI schema documents, and the
serializer accepts every value (docs/decisions/020-hot-path-payloads.md)."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from stylevault.generation import services
from stylevault.generation.api import GenerationOut, ImageDetailOut
from stylevault.generation.models import Generation
from stylevault.generation.payloads import generation_payload, image_payload
from tests.conftest import run_jobs

pytestmark = pytest.mark.django_db(transaction=True)


def _assert_matches(serializer: serializers.Serializer, data: dict, where: str = "") -> None:
    fields = serializer.fields
    assert set(data) <= set(fields), f"{where}: undocumented {set(data) - set(fields)}"
    missing = {name for name, field in fields.items() if field.required} - set(data)
    assert not missing, f"{where}: documented but missing {missing}"
    for name, value in data.items():
        field = fields[name]
        if isinstance(field, serializers.ListSerializer) and isinstance(
            field.child, serializers.Serializer
        ):
            for i, item in enumerate(value):
                _assert_matches(field.child, item, f"{where}.{name}[{i}]")
        elif isinstance(field, serializers.Serializer):
            _assert_matches(field, value, f"{where}.{name}")
    checked = type(serializer)(data=data)
    assert checked.is_valid(), (where, checked.errors)


def _generation(style, buyer, **extra) -> Generation:
    body = {"styles": [{"id": style.pk}], "prompt": "a lighthouse", "seed": 7, "steps": 3}
    return services.request_generation(user=buyer, body={**body, **extra})


def test_a_finished_generation_and_its_images_match_their_schema(published_style, buyer):
    generation = _generation(published_style, buyer, count=2)
    assert run_jobs("generation") == ["succeeded"]
    generation.refresh_from_db()
    payload = generation_payload(generation)
    assert len(payload["images"]) == 2
    _assert_matches(GenerationOut(), payload, "generation")
    for image in generation.images.all():
        _assert_matches(ImageDetailOut(), image_payload(image), f"image {image.pk}")


def test_a_cancelled_generation_with_its_error_matches_its_schema(published_style, buyer):
    generation = _generation(published_style, buyer)
    services.cancel_generation(user=buyer, generation_id=generation.pk)
    generation.refresh_from_db()
    payload = generation_payload(generation)
    assert payload["error"]["code"] == "CANCELLED"
    _assert_matches(GenerationOut(), payload, "generation")
