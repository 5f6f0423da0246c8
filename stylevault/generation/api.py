"""Generations and images API (API.md §Generations): thin views over services and selectors."""

from __future__ import annotations

import json
import threading
from collections import Counter

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.views import APIView

from stylevault.accounts.authentication import authenticate_request
from stylevault.core import errors, ratelimit
from stylevault.core.api import CursorPagination, error_response, validated
from stylevault.core.files import stored_file_response
from stylevault.core.paging import MAX_ID
from stylevault.engine.sizes import ASPECT_RATIOS
from stylevault.generation import selectors, services
from stylevault.generation.models import GenerationStatus, Visibility
from stylevault.generation.payloads import generation_payload, image_payload
from stylevault.jobs.selectors import aprogress_events


class StyleWeightIn(serializers.Serializer):
    id = serializers.IntegerField(min_value=1, max_value=MAX_ID)  # beyond: no row, and no BIGINT
    weight = serializers.FloatField(
        required=False, default=1.0, min_value=0.0001, max_value=services.MAX_WEIGHT
    )


class GenerationIn(serializers.Serializer):
    styles = StyleWeightIn(many=True, min_length=1, max_length=services.MAX_BLEND)
    prompt = serializers.CharField(max_length=services.MAX_PROMPT_LENGTH, required=False)
    prompts = serializers.ListField(
        child=serializers.CharField(max_length=services.MAX_PROMPT_LENGTH),
        min_length=1,
        max_length=services.MAX_BULK_PROMPTS,
        required=False,
        help_text="Bulk mode: many prompts in one request, one hold.",
    )
    negative_prompt = serializers.CharField(
        max_length=services.MAX_PROMPT_LENGTH, required=False, allow_blank=True
    )
    aspect_ratio = serializers.ChoiceField(choices=list(ASPECT_RATIOS), required=False)
    seed = serializers.IntegerField(min_value=0, max_value=services.MAX_SEED, required=False)
    count = serializers.IntegerField(min_value=1, max_value=services.MAX_COUNT, required=False)
    steps = serializers.IntegerField(min_value=1, max_value=services.MAX_STEPS, required=False)

    def validate(self, attrs):
        if ("prompt" in attrs) == ("prompts" in attrs):
            raise serializers.ValidationError({"prompt": [_("Send either prompt or prompts.")]})
        return attrs


class ImageOut(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class ImageDetailOut(ImageOut):
    generation_id = serializers.IntegerField()
    prompt = serializers.CharField()
    seed = serializers.IntegerField()
    style = serializers.DictField()
    artist = serializers.DictField()
    visibility = serializers.ChoiceField(choices=Visibility.values)
    description = serializers.CharField(allow_blank=True)
    like_count = serializers.IntegerField()
    comment_count = serializers.IntegerField()
    certificate_url = serializers.CharField()
    created_at = serializers.DateTimeField()


class ImagePatchIn(serializers.Serializer):
    visibility = serializers.ChoiceField(choices=Visibility.values, required=False)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class ProgressOut(serializers.Serializer):
    step = serializers.IntegerField()
    total = serializers.IntegerField()


class ErrorOut(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class GenerationOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=GenerationStatus.values)
    progress = ProgressOut()
    cost = serializers.IntegerField()
    styles = serializers.ListField(child=serializers.DictField())
    prompts = serializers.ListField(child=serializers.CharField())
    aspect_ratio = serializers.CharField()
    seed = serializers.IntegerField()
    count = serializers.IntegerField()
    steps = serializers.IntegerField()
    images = ImageOut(many=True)
    error = ErrorOut(required=False)
    created_at = serializers.DateTimeField()


class GenerationCreatedOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=GenerationStatus.values)
    cost = serializers.IntegerField()


def _generation(request, generation_id: int):
    generation = selectors.generation_for(request.user, generation_id)
    if generation is None:
        raise errors.NotFound(_("No such generation."))
    return generation


class GenerationsView(ListAPIView):
    pagination_class = CursorPagination

    def get_queryset(self):
        return (
            selectors.generations_of(self.request.user)
            .select_related("job")
            .prefetch_related("blend")
        )

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([generation_payload(g) for g in page])

    @extend_schema(tags=["generations"], responses={200: GenerationOut(many=True)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["generations"],
        request=GenerationIn,
        responses={202: GenerationCreatedOut},
        parameters=[OpenApiParameter("Idempotency-Key", str, location=OpenApiParameter.HEADER)],
    )
    def post(self, request):
        validated(GenerationIn, request.data)
        generation = services.request_generation(
            user=request.user,
            body=dict(request.data),
            idempotency_key=request.headers.get("Idempotency-Key", ""),
        )
        return Response(
            {"id": generation.pk, "status": generation.status, "cost": generation.cost},
            status=status.HTTP_202_ACCEPTED,
        )


class QuoteOut(serializers.Serializer):
    cost = serializers.IntegerField()
    images = serializers.IntegerField()


class QuoteView(APIView):
    """The cost of a request, computed exactly as POST /generations would, without holding."""

    @extend_schema(tags=["generations"], request=GenerationIn, responses={200: QuoteOut})
    def post(self, request):
        validated(GenerationIn, request.data)
        quote = services.validate_body(user=request.user, body=dict(request.data))
        return Response({"cost": quote.cost(), "images": quote.image_total})


class GenerationDetailView(APIView):
    @extend_schema(tags=["generations"], responses={200: GenerationOut})
    def get(self, request, generation_id: int):
        return Response(generation_payload(_generation(request, generation_id)))


class GenerationCancelView(APIView):
    @extend_schema(tags=["generations"], request=None, responses={200: GenerationOut})
    def post(self, request, generation_id: int):
        services.cancel_generation(user=request.user, generation_id=generation_id)
        return Response(generation_payload(_generation(request, generation_id)))


def _sse(event: dict) -> bytes:
    # DRF's encoder, so the final status carries the same JSON as GET /generations/{id}.
    data = json.dumps(event["data"], cls=JSONEncoder)
    return f"event: {event['event']}\ndata: {data}\n\n".encode()


async def generation_events(request, generation_id: int):
    """Server-Sent Events: `progress` {step, total, preview?} while rendering, then `status`."""

    user = await sync_to_async(authenticate_request)(request)
    if user is None:
        return error_response("UNAUTHORIZED", 401, _("Log in or send an API token."))
    try:  # a stream is an API request like any other
        await sync_to_async(ratelimit.enforce)("api", f"user:{user.pk}", settings.RATE_API)
    except errors.RateLimited as exc:
        return _rate_limited(exc.message, exc.retry_after)
    generation = await sync_to_async(selectors.generation_for)(user, generation_id)
    if generation is None:
        return error_response("NOT_FOUND", 404, _("No such generation."))
    if not _streams.open(user.pk):
        message = _("At most %(n)s live progress streams at once; close one first.")
        return _rate_limited(message % {"n": STREAMS_PER_USER}, 5)

    async def stream():
        async for event in aprogress_events(generation.job_id, timeout=3600):
            if event["event"] == "status":
                final = await sync_to_async(selectors.generation_for)(user, generation_id)
                event = {"event": "status", "data": await sync_to_async(generation_payload)(final)}
            yield _sse(event)

    response = StreamingHttpResponse(stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    response._resource_closers.append(lambda: _streams.close(user.pk))  # however it ends
    return response


# Live progress streams one user may hold open at once in a web process (each holds a task
# and, while it reads the job, a database connection); more are answered 429 RATE_LIMITED.
STREAMS_PER_USER = 5


class _OpenStreams:
    def __init__(self) -> None:
        self._count: Counter[int] = Counter()
        self._lock = threading.Lock()  # streams close in worker threads

    def open(self, user_id: int) -> bool:
        with self._lock:
            if self._count[user_id] >= STREAMS_PER_USER:
                return False
            self._count[user_id] += 1
            return True

    def close(self, user_id: int) -> None:
        with self._lock:
            self._count[user_id] -= 1
            if self._count[user_id] <= 0:
                del self._count[user_id]


_streams = _OpenStreams()


def _rate_limited(message: str, retry_after: int):
    response = error_response("RATE_LIMITED", 429, message, {"retry_after": retry_after})
    response["Retry-After"] = str(retry_after)
    return response


class ImageDetailView(APIView):
    permission_classes = [permissions.AllowAny]

    def _image(self, request, image_id: int):
        image = selectors.image_for(request.user, image_id)
        if image is None:
            raise errors.NotFound(_("No such image."))
        return image

    @extend_schema(tags=["images"], responses={200: ImageDetailOut})
    def get(self, request, image_id: int):
        return Response(image_payload(self._image(request, image_id)))

    @extend_schema(tags=["images"], request=ImagePatchIn, responses={200: ImageDetailOut})
    def patch(self, request, image_id: int):
        if not request.user.is_authenticated:
            raise errors.Unauthorized()
        data = validated(ImagePatchIn, request.data)
        services.update_image(user=request.user, image_id=image_id, **data)
        return Response(image_payload(self._image(request, image_id)))


class ImageFileView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(tags=["images"], responses={(200, "image/png"): bytes})
    def get(self, request, image_id: int):
        image = selectors.image_for(request.user, image_id)
        if image is None:
            raise errors.NotFound(_("No such image."))
        extension = image.path.rsplit(".", 1)[-1]
        return stored_file_response(
            image.path,
            content_type=image.mime_type,
            public=image.is_public,
            download_name=f"stylevault-{image.pk}.{extension}",
        )


class MyImagesView(ListAPIView):
    pagination_class = CursorPagination

    def get_queryset(self):
        return selectors.images_of(self.request.user)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([image_payload(i) for i in page])

    @extend_schema(tags=["images"], responses={200: ImageDetailOut(many=True)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
