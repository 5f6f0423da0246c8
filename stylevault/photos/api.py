"""Photo studio API (API.md §Photo studio): thin views over photos.services and selectors."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from stylevault.core import errors
from stylevault.core.api import CursorPagination, validated
from stylevault.core.files import stored_file_response
from stylevault.core.paging import MAX_ID
from stylevault.generation.api import ImageOut, ProgressOut
from stylevault.generation.payloads import image_summary
from stylevault.photos import selectors, services


class PhotoIn(serializers.Serializer):
    image = serializers.FileField()
    style_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    strength = serializers.FloatField(
        required=False, min_value=services.MIN_STRENGTH, max_value=services.MAX_STRENGTH
    )


class PhotoCheckIn(serializers.Serializer):
    image = serializers.FileField()


class PhotoCheckOut(serializers.Serializer):
    faces = serializers.ListField(child=serializers.DictField())
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class PickIn(serializers.Serializer):
    variant_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class FaceOut(serializers.Serializer):
    box = serializers.ListField(child=serializers.IntegerField(), min_length=4, max_length=4)
    score = serializers.FloatField()


class PhotoCreatedOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    faces = FaceOut(many=True)
    cost = serializers.IntegerField()
    generation_id = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class PhotoOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField(help_text="queued, running, succeeded or failed")
    style_id = serializers.IntegerField()
    variants = ImageOut(many=True)
    final_image_id = serializers.IntegerField(allow_null=True)
    expires_at = serializers.DateTimeField()
    faces = FaceOut(many=True)
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    generation_id = serializers.IntegerField(allow_null=True)
    progress = ProgressOut()
    created_at = serializers.DateTimeField()


class PickedOut(serializers.Serializer):
    image_id = serializers.IntegerField()


def variant_summary(photo, image) -> dict:
    return {
        **image_summary(image),
        "url": f"/api/v1/photos/{photo.pk}/variants/{image.pk}/file",
    }


def photo_payload(photo) -> dict:
    generation = photo.generation
    progress = (generation.job.progress if generation and generation.job else None) or {}
    variants = sorted(generation.images.all(), key=lambda i: i.position) if generation else []
    return {
        "id": photo.pk,
        "status": selectors.status_of(photo),
        "style_id": photo.style_id,
        "variants": [variant_summary(photo, v) for v in variants],
        "final_image_id": photo.final_image_id,
        "expires_at": photo.expires_at,
        "faces": photo.faces,
        "width": photo.width,
        "height": photo.height,
        "generation_id": photo.generation_id,
        "progress": {"step": int(progress.get("step", 0)), "total": int(progress.get("total", 0))},
        "created_at": photo.created_at,
    }


def own_photo(user, photo_id: int):
    photo = selectors.photo_for(user, photo_id)
    if photo is None:
        raise errors.NotFound(_("No such photo."))
    return photo


class PhotosView(ListAPIView):
    pagination_class = CursorPagination

    def get_queryset(self):
        return selectors.photos_of(self.request.user).select_related("generation__job")

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([photo_payload(p) for p in page])

    @extend_schema(tags=["photos"], responses={200: PhotoOut(many=True)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["photos"],
        request={"multipart/form-data": PhotoIn},
        responses={202: PhotoCreatedOut},
    )
    def post(self, request):
        data = validated(PhotoIn, request.data)
        photo = services.upload_photo(
            user=request.user,
            upload=data["image"],
            style_id=data["style_id"],
            strength=data.get("strength"),
        )
        return Response(
            {
                "id": photo.pk,
                "status": selectors.status_of(photo),
                "faces": photo.faces,
                "cost": photo.generation.cost,
                "generation_id": photo.generation_id,
                "expires_at": photo.expires_at,
            },
            status=status.HTTP_202_ACCEPTED,
        )


class PhotoCheckView(APIView):
    """The upload page's live check: the same checks and face rule as POST /photos, nothing
    stored or held; 200 with the faces, or the same 4xx/422 error."""

    @extend_schema(
        tags=["photos"],
        request={"multipart/form-data": PhotoCheckIn},
        responses={200: PhotoCheckOut},
    )
    def post(self, request):
        portrait = services.check_portrait(validated(PhotoCheckIn, request.data)["image"])
        return Response(
            {"faces": portrait.faces, "width": portrait.width, "height": portrait.height}
        )


class PhotoDetailView(APIView):
    @extend_schema(tags=["photos"], responses={200: PhotoOut})
    def get(self, request, photo_id: int):
        return Response(photo_payload(own_photo(request.user, photo_id)))

    @extend_schema(tags=["photos"], responses={204: None})
    def delete(self, request, photo_id: int):
        services.delete_photo(user=request.user, photo_id=photo_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PickView(APIView):
    @extend_schema(tags=["photos"], request=PickIn, responses={200: PickedOut})
    def post(self, request, photo_id: int):
        data = validated(PickIn, request.data)
        image = services.pick_variant(
            user=request.user, photo_id=photo_id, variant_id=data["variant_id"]
        )
        return Response({"image_id": image.pk})


class VariantFileView(APIView):
    @extend_schema(tags=["photos"], responses={(200, "image/png"): bytes})
    def get(self, request, photo_id: int, variant_id: int):
        image = selectors.variant_for(request.user, photo_id, variant_id)
        if image is None:
            raise errors.NotFound(_("No such variant of this photo."))
        return stored_file_response(image.path, content_type=image.mime_type, public=False)


async def photo_events(request, photo_id: int):
    """The variants' Server-Sent Events: the generation's stream (`progress`, then `status`)."""
    from asgiref.sync import sync_to_async

    from stylevault.accounts.authentication import authenticate_request
    from stylevault.core.api import error_response
    from stylevault.generation.api import generation_events

    user = await sync_to_async(authenticate_request)(request)
    if user is None:
        return error_response("UNAUTHORIZED", 401, _("Log in or send an API token."))
    photo = await sync_to_async(selectors.photo_for)(user, photo_id)
    if photo is None or photo.generation_id is None:
        return error_response("NOT_FOUND", 404, _("No such photo."))
    return await generation_events(request, photo.generation_id)
