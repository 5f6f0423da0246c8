"""OpenAPI pieces shared by the API views: API.md's error envelope as a documented response."""

from __future__ import annotations

from rest_framework import serializers


class ErrorEnvelopeDetailOut(serializers.Serializer):
    code = serializers.CharField(help_text="VALIDATION_ERROR, NOT_FOUND, ... (API.md).")
    message = serializers.CharField(help_text="Human text in the request's language.")
    details = serializers.DictField()


class ErrorEnvelopeOut(serializers.Serializer):
    error = ErrorEnvelopeDetailOut()


def error_responses(*statuses: int) -> dict[int, type[ErrorEnvelopeOut]]:
    """`responses` entries for the error statuses a view can answer (429 always can)."""
    return {status: ErrorEnvelopeOut for status in (*statuses, 429)}
