"""Notifications API (API.md §Community): the recipient's list, unread count, marking read.
Messages are rendered in the recipient's language."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from stylevault.core.api import UserRefOut, validated
from stylevault.core.openapi import error_responses
from stylevault.core.paging import MAX_ID, MAX_LIMIT, PageQuery, next_link
from stylevault.notifications import selectors, services
from stylevault.notifications.models import NotificationKind


# core.api.UserRefOut, under the name the schema gives it here.
class NotificationActorOut(UserRefOut):
    pass


class NotificationTargetOut(serializers.Serializer):
    type = serializers.ChoiceField(choices=["image", "style", "generation"])
    id = serializers.IntegerField()


class NotificationOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=NotificationKind.values)
    read = serializers.BooleanField(source="is_read")
    created_at = serializers.DateTimeField()
    message = serializers.SerializerMethodField()
    actor = NotificationActorOut(allow_null=True)
    target = serializers.SerializerMethodField()
    data = serializers.DictField()

    def get_message(self, notification) -> str:
        return selectors.render_message(notification)

    @extend_schema_field(NotificationTargetOut(allow_null=True))
    def get_target(self, notification) -> dict | None:
        if notification.target_id is None:
            return None
        return {"type": notification.target_type, "id": notification.target_id}


class NotificationPageOut(serializers.Serializer):
    results = NotificationOut(many=True)
    next = serializers.URLField(allow_null=True)
    unread = serializers.IntegerField()


class UnreadOut(serializers.Serializer):
    unread = serializers.IntegerField()


class MarkReadIn(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=MAX_LIMIT,
    )
    all = serializers.BooleanField(required=False, default=False)


class MarkReadOut(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many were unread and are now read.")
    unread = serializers.IntegerField()


class NotificationsView(APIView):
    @extend_schema(
        parameters=[PageQuery],
        responses={200: NotificationPageOut, **error_responses(400, 401)},
        tags=["community"],
    )
    def get(self, request):
        query = validated(PageQuery, request.query_params)
        page = selectors.notifications_page(
            user=request.user, cursor=query.get("cursor"), limit=query["limit"]
        )
        return Response(
            {
                "results": NotificationOut(page.items, many=True).data,
                "next": next_link(request, page),
                "unread": selectors.unread_count(request.user),
            }
        )


class UnreadView(APIView):
    @extend_schema(responses={200: UnreadOut, **error_responses(401)}, tags=["community"])
    def get(self, request):
        return Response({"unread": selectors.unread_count(request.user)})


class MarkReadView(APIView):
    @extend_schema(
        request=MarkReadIn,
        responses={200: MarkReadOut, **error_responses(400, 401)},
        tags=["community"],
    )
    def post(self, request):
        data = validated(MarkReadIn, request.data)
        marked = services.mark_read(user=request.user, ids=data.get("ids"), all=data["all"])
        return Response({"marked": marked, "unread": selectors.unread_count(request.user)})
