"""Campaign studio API (API.md §Campaign studio): thin views over services and selectors."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import parsers, serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from stylevault.campaigns import selectors, services, turns
from stylevault.campaigns.models import (
    BusinessType,
    DraftStatus,
    Language,
    Layout,
    Tone,
)
from stylevault.core import errors
from stylevault.core.api import CursorPagination, validated
from stylevault.core.files import stored_file_response
from stylevault.core.paging import MAX_ID
from stylevault.generation.api import ErrorOut
from stylevault.generation.models import GenerationStatus


class BrandIn(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    business_type = serializers.ChoiceField(choices=BusinessType.values)
    language = serializers.ChoiceField(choices=Language.values)
    tone = serializers.ChoiceField(choices=Tone.values, required=False)
    primary_color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False)
    secondary_color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False)
    default_style_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    colors_from_logo = serializers.BooleanField(required=False)
    logo = serializers.FileField(required=False, help_text="PNG or JPEG, at most 2 MB")


class BrandPatchIn(BrandIn):
    name = serializers.CharField(max_length=80, required=False)
    business_type = serializers.ChoiceField(choices=BusinessType.values, required=False)
    language = serializers.ChoiceField(choices=Language.values, required=False)


class BrandOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    business_type = serializers.CharField()
    tone = serializers.CharField()
    language = serializers.CharField()
    primary_color = serializers.CharField()
    secondary_color = serializers.CharField()
    logo_url = serializers.CharField(allow_null=True)
    default_style_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


def brand_payload(brand) -> dict:
    return {
        "id": brand.pk,
        "name": brand.name,
        "business_type": brand.business_type,
        "tone": brand.tone,
        "language": brand.language,
        "primary_color": brand.primary_color,
        "secondary_color": brand.secondary_color,
        "logo_url": f"/api/v1/brands/{brand.pk}/logo" if brand.logo_path else None,
        "default_style_id": brand.default_style_id,
        "created_at": brand.created_at,
    }


def _style_id(text: str) -> int | None:
    """A multipart style id: empty clears it; anything but a whole number in range is refused."""
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise errors.field_error("default_style_id", _("A style id is a whole number."))
    return int(text)


def _form_data(request) -> dict:
    """The request's fields with numbers and booleans read from multipart text."""
    data = {k: request.data.get(k) for k in request.data}
    if "default_style_id" in data and isinstance(data["default_style_id"], str):
        data["default_style_id"] = _style_id(data["default_style_id"])
    if isinstance(data.get("colors_from_logo"), str):
        data["colors_from_logo"] = data["colors_from_logo"].lower() in ("1", "true", "on", "yes")
    return data


PARSERS = [parsers.JSONParser, parsers.MultiPartParser, parsers.FormParser]


class BrandsView(ListAPIView):
    pagination_class = CursorPagination
    parser_classes = PARSERS

    def get_queryset(self):
        return selectors.brands_of(self.request.user)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([brand_payload(b) for b in page])

    @extend_schema(tags=["campaigns"], responses={200: BrandOut(many=True)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["campaigns"],
        request={"multipart/form-data": BrandIn, "application/json": BrandIn},
        responses={201: BrandOut},
    )
    def post(self, request):
        validated(BrandIn, request.data)
        brand = services.create_brand(owner=request.user, data=_form_data(request))
        return Response(brand_payload(brand), status=status.HTTP_201_CREATED)


def _brand(request, brand_id: int):
    brand = selectors.brand_for(request.user, brand_id)
    if brand is None:
        raise errors.NotFound(_("No such brand."))
    return brand


class BrandDetailView(APIView):
    parser_classes = PARSERS

    @extend_schema(tags=["campaigns"], responses={200: BrandOut})
    def get(self, request, brand_id: int):
        return Response(brand_payload(_brand(request, brand_id)))

    @extend_schema(
        tags=["campaigns"],
        request={"multipart/form-data": BrandPatchIn, "application/json": BrandPatchIn},
        responses={200: BrandOut},
    )
    def patch(self, request, brand_id: int):
        validated(BrandPatchIn, request.data)
        brand = services.update_brand(
            owner=request.user, brand_id=brand_id, data=_form_data(request)
        )
        return Response(brand_payload(brand))

    @extend_schema(tags=["campaigns"], responses={204: None})
    def delete(self, request, brand_id: int):
        services.delete_brand(owner=request.user, brand_id=brand_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BrandLogoView(APIView):
    @extend_schema(tags=["campaigns"], responses={(200, "image/png"): bytes})
    def get(self, request, brand_id: int):
        brand = _brand(request, brand_id)
        if not brand.logo_path:
            raise errors.NotFound(_("This brand has no logo."))
        kind = "image/png" if brand.logo_path.endswith(".png") else "image/jpeg"
        return stored_file_response(brand.logo_path, content_type=kind, public=False)


# -- sessions and messages --


class SessionIn(serializers.Serializer):
    brand_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class SessionPatchIn(serializers.Serializer):
    title = serializers.CharField(max_length=120)


class MessageOut(serializers.Serializer):
    id = serializers.IntegerField()
    role = serializers.CharField()
    text = serializers.CharField()
    draft_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class SessionOut(serializers.Serializer):
    id = serializers.IntegerField()
    brand_id = serializers.IntegerField()
    title = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class SessionDetailOut(SessionOut):
    messages = MessageOut(many=True)


def session_payload(session) -> dict:
    return {
        "id": session.pk,
        "brand_id": session.brand_id,
        "title": session.title,
        "created_at": session.created_at,
        "updated_at": session.updated_at,
    }


def message_payload(message) -> dict:
    draft = getattr(message, "draft", None) if message.role == "assistant" else None
    return {
        "id": message.pk,
        "role": message.role,
        "text": message.text,
        "draft_id": draft.pk if draft is not None else None,
        "created_at": message.created_at,
    }


def _session(request, session_id: int):
    session = selectors.session_for(request.user, session_id)
    if session is None:
        raise errors.NotFound(_("No such session."))
    return session


class SessionsView(ListAPIView):
    pagination_class = CursorPagination

    def get_queryset(self):
        return selectors.sessions_of(self.request.user).order_by("-created_at")

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([session_payload(s) for s in page])

    @extend_schema(tags=["campaigns"], responses={200: SessionOut(many=True)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(tags=["campaigns"], request=SessionIn, responses={201: SessionOut})
    def post(self, request):
        data = validated(SessionIn, request.data)
        session = services.create_session(owner=request.user, brand_id=data["brand_id"])
        return Response(session_payload(session), status=status.HTTP_201_CREATED)


class SessionDetailView(APIView):
    @extend_schema(tags=["campaigns"], responses={200: SessionDetailOut})
    def get(self, request, session_id: int):
        session = _session(request, session_id)
        messages = session.messages.select_related("draft")
        return Response(
            {**session_payload(session), "messages": [message_payload(m) for m in messages]}
        )

    @extend_schema(tags=["campaigns"], request=SessionPatchIn, responses={200: SessionOut})
    def patch(self, request, session_id: int):
        data = validated(SessionPatchIn, request.data)
        session = services.rename_session(
            owner=request.user, session_id=session_id, title=data["title"]
        )
        return Response(session_payload(session))

    @extend_schema(tags=["campaigns"], responses={204: None})
    def delete(self, request, session_id: int):
        services.delete_session(owner=request.user, session_id=session_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MessageIn(serializers.Serializer):
    text = serializers.CharField(max_length=services.MAX_TEXT)
    style_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    aspect_ratio = serializers.ChoiceField(choices=list(turns.AD_RATIOS), required=False)


class AdOut(serializers.Serializer):
    url = serializers.CharField()
    png_url = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class DraftOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=DraftStatus.values)
    session_id = serializers.IntegerField(allow_null=True)
    headline = serializers.CharField()
    body = serializers.CharField()
    cta = serializers.CharField()
    hashtags = serializers.ListField(child=serializers.CharField())
    image_prompt = serializers.CharField()
    aspect_ratio = serializers.CharField()
    language = serializers.CharField()
    tone = serializers.CharField()
    layout = serializers.ChoiceField(choices=Layout.values)
    writer = serializers.CharField()
    style_id = serializers.IntegerField()
    generation_id = serializers.IntegerField(allow_null=True)
    image = serializers.DictField(allow_null=True)
    ad = AdOut(allow_null=True)
    error = ErrorOut(required=False)
    created_at = serializers.DateTimeField()


class TurnOut(serializers.Serializer):
    message = MessageOut()
    draft = DraftOut()


def draft_status(draft) -> str:
    """The draft's own status, or "running" once its picture is being rendered."""
    if (
        draft.status == DraftStatus.QUEUED
        and draft.generation is not None
        and draft.generation.status == GenerationStatus.RUNNING
    ):
        return DraftStatus.RUNNING
    return draft.status


def draft_payload(draft) -> dict:
    source = selectors.source_image(draft) if draft.generation_id else None
    data = {
        "id": draft.pk,
        "status": draft_status(draft),
        "session_id": draft.session_id,
        "headline": draft.headline,
        "body": draft.body,
        "cta": draft.cta,
        "hashtags": draft.hashtags,
        "image_prompt": draft.image_prompt,
        "aspect_ratio": draft.aspect_ratio,
        "language": draft.language,
        "tone": draft.tone,
        "layout": draft.layout,
        "writer": draft.writer,
        "style_id": draft.style_id,
        "generation_id": draft.generation_id,
        "image": {"id": source.pk, "url": f"/api/v1/images/{source.pk}/file"} if source else None,
        "ad": None,
        "created_at": draft.created_at,
    }
    if draft.ad_path and draft.status == DraftStatus.SUCCEEDED:
        data["ad"] = {
            "url": f"/api/v1/campaigns/drafts/{draft.pk}/ad",
            "png_url": f"/api/v1/campaigns/drafts/{draft.pk}/ad?as=png",
            "width": draft.ad_width,
            "height": draft.ad_height,
        }
    if draft.status == DraftStatus.FAILED:
        picture_made = source is not None
        data["error"] = {
            "code": draft.error_code or "IMAGE_GENERATION_FAILED",
            "message": _(
                "The ad could not be laid out. The picture is kept: choose a layout to try again."
            )
            if picture_made
            else _(
                "The ad could not be made; credits for a picture that was not made were returned."
            ),
        }
    return data


class MessagesView(APIView):
    # The generation rate limit is enforced where the picture is requested
    # (generation.services.request_generation), so pages and API share it.
    @extend_schema(tags=["campaigns"], request=MessageIn, responses={202: TurnOut})
    def post(self, request, session_id: int):
        data = validated(MessageIn, request.data)
        message, draft = services.post_message(owner=request.user, session_id=session_id, **data)
        return Response(
            {"message": message_payload(message), "draft": draft_payload(draft)},
            status=status.HTTP_202_ACCEPTED,
        )


def _draft(request, draft_id: int):
    draft = selectors.draft_for(request.user, draft_id)
    if draft is None:
        raise errors.NotFound(_("No such ad draft."))
    return draft


class DraftDetailView(APIView):
    @extend_schema(tags=["campaigns"], responses={200: DraftOut})
    def get(self, request, draft_id: int):
        return Response(draft_payload(_draft(request, draft_id)))


class LayoutIn(serializers.Serializer):
    layout = serializers.ChoiceField(choices=Layout.values)


class DraftLayoutView(APIView):
    @extend_schema(tags=["campaigns"], request=LayoutIn, responses={202: DraftOut})
    def post(self, request, draft_id: int):
        data = validated(LayoutIn, request.data)
        draft = services.choose_layout(owner=request.user, draft_id=draft_id, layout=data["layout"])
        return Response(draft_payload(draft), status=status.HTTP_202_ACCEPTED)


class DraftAdView(APIView):
    @extend_schema(
        tags=["campaigns"],
        parameters=[OpenApiParameter("as", str, enum=["jpeg", "png"], description="file type")],
        responses={(200, "image/jpeg"): bytes, (200, "image/png"): bytes},
    )
    def get(self, request, draft_id: int):
        draft = _draft(request, draft_id)
        if not draft.ad_path or draft.status != DraftStatus.SUCCEEDED:
            raise errors.NotFound(_("This ad is not composed yet."))
        kind = request.query_params.get("as", "jpeg")
        if kind not in ("jpeg", "png"):
            raise errors.ValidationFailed(
                _("Ask for the ad as jpeg or png."), details={"fields": {"as": ["invalid"]}}
            )
        path, mime = (
            (draft.ad_png_path, "image/png") if kind == "png" else (draft.ad_path, "image/jpeg")
        )
        return stored_file_response(
            path,
            content_type=mime,
            public=False,
            download_name=f"ad-{draft.pk}.{'png' if kind == 'png' else 'jpg'}",
        )


class DraftCopyView(APIView):
    @extend_schema(tags=["campaigns"], responses={(200, "text/plain"): str})
    def get(self, request, draft_id: int):
        from django.http import HttpResponse

        draft = _draft(request, draft_id)
        text = "\n\n".join([draft.headline, draft.body, draft.cta, " ".join(draft.hashtags)])
        response = HttpResponse(text + "\n", content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="ad-{draft.pk}.txt"'
        return response


class IdeaOut(serializers.Serializer):
    title = serializers.CharField()
    brief = serializers.CharField()


class RecommendationsOut(serializers.Serializer):
    results = IdeaOut(many=True)


class RecommendationsView(APIView):
    @extend_schema(
        tags=["campaigns"],
        parameters=[OpenApiParameter("brand_id", int, required=True)],
        responses={200: RecommendationsOut},
    )
    def get(self, request):
        raw = request.query_params.get("brand_id", "")
        if not raw.isdigit() or int(raw) > MAX_ID:
            raise errors.ValidationFailed(
                _("brand_id must be a whole number."), details={"fields": {"brand_id": ["invalid"]}}
            )
        brand = _brand(request, int(raw))
        return Response({"results": selectors.recommendations(brand)})
