"""Styles API (API.md §Styles): thin views over styles.services and styles.selectors."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from stylevault.core import errors
from stylevault.core.api import CursorPagination, UserRefOut, inline, validated
from stylevault.core.files import stored_file_response
from stylevault.styles import search, selectors, services
from stylevault.styles.models import MAX_PRICE, MIN_PRICE, StyleStatus


# core.api.UserRefOut, under the name the schema gives it here.
class ArtistOut(UserRefOut):
    pass


class SampleOut(serializers.Serializer):
    prompt = serializers.CharField()
    url = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class StyleOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    artist = ArtistOut()
    tags = serializers.ListField(child=serializers.CharField())
    price_per_image = serializers.IntegerField()
    nsfw_allowed = serializers.BooleanField()
    source = serializers.CharField()
    published_at = serializers.DateTimeField(allow_null=True)
    samples = SampleOut(many=True)


class StylePageOut(serializers.Serializer):
    results = StyleOut(many=True)
    next = serializers.URLField(allow_null=True)


class ProgressOut(serializers.Serializer):
    stage = serializers.CharField()
    step = serializers.IntegerField(required=False)
    total = serializers.IntegerField(required=False)
    loss = serializers.FloatField(required=False)


class ManagedStyleOut(StyleOut):
    """What the style's artist and operators also see."""

    status = serializers.ChoiceField(choices=StyleStatus.values)
    progress = ProgressOut(allow_null=True)
    qa = serializers.DictField()
    error = serializers.CharField()
    review_reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class StyleDetailOut(ManagedStyleOut):
    """A style as anyone sees it: the managed fields come only to its artist and operators."""

    def get_fields(self):
        fields = super().get_fields()
        for name in fields.keys() - StyleOut._declared_fields.keys():
            fields[name].required = False
        return fields


class StyleCreatedOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=StyleStatus.values)


class StyleIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    tags = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, help_text="Comma-separated."
    )
    price_per_image = serializers.IntegerField(min_value=MIN_PRICE, max_value=MAX_PRICE)
    nsfw_allowed = serializers.BooleanField(required=False, default=False)
    images = serializers.ListField(
        child=serializers.FileField(), required=False, help_text="10–100 JPEG or PNG files."
    )
    captions = serializers.ListField(
        child=serializers.CharField(max_length=300, allow_blank=True), required=False
    )
    lora = serializers.FileField(
        required=False, help_text="A LoRA trained elsewhere (safetensors), instead of images."
    )


class StylePatchIn(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=20
    )
    price_per_image = serializers.IntegerField(
        min_value=MIN_PRICE, max_value=MAX_PRICE, required=False
    )
    nsfw_allowed = serializers.BooleanField(required=False)


class ReviewIn(serializers.Serializer):
    approve = serializers.BooleanField()
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class SimilarOut(StyleOut):
    similarity = serializers.FloatField()


class TagOut(serializers.Serializer):
    name = serializers.CharField()
    count = serializers.IntegerField()


class TagListOut(serializers.Serializer):
    results = TagOut(many=True)
    next = serializers.URLField(allow_null=True)


class SimilarListOut(serializers.Serializer):
    results = SimilarOut(many=True)
    next = serializers.URLField(allow_null=True)


def style_payload(style, viewer) -> dict:
    data = {
        "id": style.pk,
        "name": style.name,
        "description": style.description,
        "artist": {"id": style.artist_id, "username": style.artist.username},
        "tags": [t.name for t in style.tags.all()],
        "price_per_image": style.price_per_image,
        "nsfw_allowed": style.nsfw_allowed,
        "source": style.source,
        "published_at": style.published_at,
        "samples": [
            {
                "prompt": s.prompt,
                "url": f"/api/v1/styles/{style.pk}/samples/{s.position}",
                "width": s.width,
                "height": s.height,
            }
            for s in style.samples.all()
        ],
    }
    if viewer is not None and selectors.can_manage(viewer, style):
        data.update(
            status=style.status,
            progress=selectors.progress_of(style),
            qa=style.qa,
            error=style.error,
            review_reason=style.review_reason,
            created_at=style.created_at,
        )
    return data


def _visible(request, style_id: int):
    style = selectors.style_for(request.user, style_id)
    if style is None:
        raise errors.NotFound(_no_style())
    return style


def _no_style() -> str:

    return _("No such style.")


# What clients send to list styles: pages asking only for these are kept, and run inline.
_LISTING_PARAMS = ("tags", "q", "cursor", "limit")


def _shared(request) -> bool:
    """Whether a listing is worth keeping: only the parameters clients send, default pages."""
    params = request.query_params
    limit = params.get("limit", "")
    return set(params) <= set(_LISTING_PARAMS) and (
        not limit or (limit.isdigit() and int(limit) <= CursorPagination.page_size)
    )


def _listing(request) -> dict:
    """A page of published styles matching the query: the same for every viewer."""
    tags = [t for t in request.query_params.get("tags", "").split(",") if t.strip()]
    queryset = search.search_styles(tags=tags, q=request.query_params.get("q", ""))
    paginator = CursorPagination()
    paginator.ordering = ("-published_at", "-id")
    page = paginator.paginate_queryset(
        queryset.select_related("artist").prefetch_related("tags", "samples"), request, None
    )
    return paginator.get_paginated_response([style_payload(s, None) for s in page]).data


@inline(*_LISTING_PARAMS)
class StylesView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        tags=["styles"],
        parameters=[
            OpenApiParameter("tags", str, description="Comma-separated; all must match."),
            OpenApiParameter("q", str, description="Words in the name, description or tags."),
        ],
        responses={200: StylePageOut},
    )
    def get(self, request):
        return Response(
            search.LISTING.get(
                request.build_absolute_uri(), lambda: _listing(request), keep=_shared(request)
            )
        )

    @extend_schema(
        tags=["styles"],
        request={"multipart/form-data": StyleIn},
        responses={201: StyleCreatedOut},
    )
    def post(self, request):
        if not request.user.is_authenticated:
            raise errors.Unauthorized()
        data = validated(StyleIn, request.data)
        style = services.create_style(
            artist=request.user,
            name=data["name"],
            description=data.get("description", ""),
            tags=data.get("tags", ""),
            price_per_image=data["price_per_image"],
            nsfw_allowed=data["nsfw_allowed"],
            images=request.FILES.getlist("images"),
            captions=request.data.getlist("captions") if hasattr(request.data, "getlist") else None,
            lora=request.FILES.get("lora"),
        )
        return Response({"id": style.pk, "status": style.status}, status=status.HTTP_201_CREATED)


class StyleDetailView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(tags=["styles"], responses={200: StyleDetailOut})
    def get(self, request, style_id: int):
        return Response(style_payload(_visible(request, style_id), request.user))

    @extend_schema(tags=["styles"], request=StylePatchIn, responses={200: ManagedStyleOut})
    def patch(self, request, style_id: int):
        if not request.user.is_authenticated:
            raise errors.Unauthorized()
        data = validated(StylePatchIn, request.data)
        style = services.update_style(artist=request.user, style_id=style_id, **data)
        return Response(style_payload(selectors.style_for(request.user, style.pk), request.user))


class SimilarStylesView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(tags=["styles"], responses={200: SimilarListOut})
    def get(self, request, style_id: int):
        style = _visible(request, style_id)
        results = [
            {**style_payload(other, None), "similarity": round(score, 4)}
            for other, score in selectors.similar_styles(style)
        ]
        return Response({"results": results, "next": None})


class PopularTagsView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(tags=["styles"], responses={200: TagListOut})
    def get(self, request):
        return Response({"results": search.popular_tags(limit=20), "next": None})


class MyStylesView(ListAPIView):
    pagination_class = CursorPagination

    def get_queryset(self):
        return (
            selectors.styles_of(self.request.user)
            .select_related("artist", "training_job", "check_job")
            .prefetch_related("samples")
        )

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([style_payload(s, request.user) for s in page])

    @extend_schema(tags=["styles"], responses={200: ManagedStyleOut(many=True)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class StyleReviewView(APIView):
    @extend_schema(tags=["styles"], request=ReviewIn, responses={200: ManagedStyleOut})
    def post(self, request, style_id: int):
        data = validated(ReviewIn, request.data)
        services.review_style(
            operator=request.user,
            style_id=style_id,
            approve=data["approve"],
            reason=data.get("reason", ""),
        )
        return Response(style_payload(selectors.style_for(request.user, style_id), request.user))


class StyleSampleView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(tags=["styles"], responses={(200, "image/png"): bytes}, summary="A sample image")
    def get(self, request, style_id: int, position: int):
        style = _visible(request, style_id)
        sample = next((s for s in style.samples.all() if s.position == position), None)
        if sample is None:
            raise errors.NotFound()
        return stored_file_response(
            sample.path, content_type="image/png", public=style.is_published
        )
