"""Shared API plumbing: API.md's error envelope, throttles, cursor pagination."""

from __future__ import annotations

import base64
import binascii
import logging

import orjson
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions as drf
from rest_framework import metadata, negotiation, pagination, renderers, serializers
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from stylevault.core import errors, paging, ratelimit
from stylevault.core.paging import MAX_ID

log = logging.getLogger(__name__)

_DRF_CODES = {
    drf.ValidationError: ("VALIDATION_ERROR", 400),
    drf.ParseError: ("VALIDATION_ERROR", 400),
    drf.NotAuthenticated: ("UNAUTHORIZED", 401),
    drf.AuthenticationFailed: ("UNAUTHORIZED", 401),
    drf.PermissionDenied: ("FORBIDDEN", 403),
    drf.NotFound: ("NOT_FOUND", 404),
    drf.MethodNotAllowed: ("METHOD_NOT_ALLOWED", 405),
    drf.NotAcceptable: ("NOT_ACCEPTABLE", 406),
    drf.UnsupportedMediaType: ("UNSUPPORTED_MEDIA_TYPE", 415),
    drf.Throttled: ("RATE_LIMITED", 429),
}


def envelope(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": str(message), "details": details or {}}}


def error_response(
    code: str, status: int, message: str, details: dict | None = None
) -> JsonResponse:
    """The envelope as a plain Django response, for errors raised outside DRF views."""
    return JsonResponse(envelope(code, message, details), status=status)


def _validation_message(detail) -> str:
    return (
        _("Some fields are missing or wrong.") if isinstance(detail, dict | list) else str(detail)
    )


def exception_handler(exc, context):
    """Every API error leaves in the envelope of API.md, never as HTML or a stack trace."""
    exc = errors.for_request_limit(exc) or exc
    if isinstance(exc, errors.DomainError):
        response = Response(envelope(exc.code, exc.message, exc.details), status=exc.status)
        if isinstance(exc, errors.RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf.PermissionDenied()
    # Imported here: rest_framework.views resolves the REST_FRAMEWORK settings, which name
    # classes of this module, when it is first imported.
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        log.exception("unhandled API error", exc_info=exc)
        return Response(
            envelope("INTERNAL_ERROR", _("Something went wrong on our side. Please try again.")),
            status=500,
        )
    code, status = next(
        ((c, s) for cls, (c, s) in _DRF_CODES.items() if isinstance(exc, cls)),
        ("INTERNAL_ERROR", response.status_code),
    )
    if isinstance(exc, drf.ValidationError):
        message, details = _validation_message(exc.detail), {"fields": exc.detail}
    elif isinstance(exc, drf.Throttled):
        message = errors.RateLimited.default_message
        details = {"retry_after": int(exc.wait or 1)}
    else:
        message, details = str(exc.detail), {}
    response.data = envelope(code, message, details)
    response.status_code = status
    return response


# A user as other bodies name them: `{id, username}`. Apps subclass it under the name their
# part of the schema already gives it (ArtistOut, UserOut, NotificationActorOut); no docstring,
# since a docstring becomes the schema's description.
class UserRefOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class ScopedRateThrottle(BaseThrottle):
    """A DRF throttle over stylevault.core.ratelimit; subclasses name the scope, rate and key."""

    scope = ""

    def rate(self) -> str:
        raise NotImplementedError

    def key(self, request) -> str | None:
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return f"ip:{ratelimit.client_ip(request)}"

    def allow_request(self, request, view) -> bool:
        key = self.key(request)
        if key is None:
            return True
        self._wait = ratelimit.hit(self.scope, key, self.rate())
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


class ApiRateThrottle(ScopedRateThrottle):
    """API: 100 requests per minute per user (or per IP when anonymous), configurable."""

    scope = "api"

    def rate(self) -> str:

        return settings.RATE_API


def inline(*params: str):
    """Marks an API view whose GET (and HEAD), with no query parameters but `params`, makes
    only a few indexed reads (database, cache) and no other network call: the web server runs
    it on its event loop's thread, without the two thread switches of a hop. Other parameters
    (per-viewer or uncached queries) take the hop (stylevault.asgi; decision 015). A plain
    function view may be marked too."""

    def mark(view_class: type) -> type:
        view_class.inline_params = frozenset(params)
        return view_class

    return mark


def validated(serializer_class, data) -> dict:
    """Validates request data with a serializer; a failure becomes the VALIDATION_ERROR envelope."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ContentNegotiation(negotiation.DefaultContentNegotiation):
    """DRF's negotiation, skipped when the client takes anything or JSON (nearly every API
    client): the view's first renderer answers, as DRF would choose, without parsing."""

    def select_renderer(self, request, renderers, format_suffix=None):
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        if (
            format_suffix is None
            and accept in ("*/*", renderers[0].media_type)
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON, encoded by orjson: the standard library's encoder took a tenth of the time
    of a kept feed page (decision 018). For what views return (serializer data: dicts, lists,
    strings, numbers, DRF's datetimes) clients read the same values: datetimes go through
    DRF's encoder, and what orjson refuses (integers past 64 bits, keys that are not strings)
    or does not offer (an indent the client asked for) is left to DRF's renderer. Response
    data must not hold iterators: a fallback would find them used up."""

    _OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME
    _default = renderers.JSONRenderer.encoder_class().default

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None or self.get_indent(accepted_media_type, renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            rendered = orjson.dumps(data, default=self._default, option=self._OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        # Like DRF: U+2028 and U+2029 escaped, so the JSON is also valid JavaScript. Their
        # first byte is looked for first: one memchr, where each replace scans for 3 bytes.
        if b"\xe2" not in rendered:
            return rendered
        return rendered.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")


class Metadata(metadata.SimpleMetadata):
    """OPTIONS: the view's name, description and formats. Request shapes live in the OpenAPI
    document: our views validate with serializers of their own, not `get_serializer()`, which
    DRF's default would call (and fail on) to describe them."""

    def determine_actions(self, request, view) -> dict:
        return {}


class CursorPagination(pagination.CursorPagination):
    """API.md lists: {"results": [...], "next": url or null}."""

    page_size = 20
    max_page_size = 100
    page_size_query_param = "limit"
    ordering = "-created_at"

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        """DRF's cursor, with its position checked against the ordering field: anything we did
        not hand out is the same VALIDATION_ERROR as paging.decode_cursor gives, not a 404
        (bad base64) or a 500 (a position the database cannot compare)."""
        encoded = request.query_params.get(self.cursor_query_param)
        try:
            if encoded is not None and not base64.b64decode(encoded.encode(), validate=True):
                raise ValueError(encoded)  # DRF's decoder skips what is not base64
            cursor = super().decode_cursor(request)
            if cursor is not None and cursor.position is not None:
                field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
                value = field.to_python(cursor.position)
                if isinstance(value, int) and not -MAX_ID <= value <= MAX_ID:
                    raise ValueError(cursor.position)
        except (drf.NotFound, DjangoValidationError, binascii.Error, ValueError, TypeError) as exc:
            raise paging.invalid_cursor() from exc
        return cursor

    def get_paginated_response(self, data):
        return Response({"results": data, "next": self.get_next_link()})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "nullable": True, "format": "uri"},
            },
        }
