"""Accounts API (API.md §Accounts): thin views over accounts.services."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from stylevault.accounts import selectors, services
from stylevault.billing.selectors import tier_of
from stylevault.core import errors
from stylevault.core.api import CursorPagination, UserRefOut, inline, validated
from stylevault.ledger.selectors import wallet_of


class SignupIn(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    email = serializers.EmailField(required=False, allow_blank=True)


# core.api.UserRefOut, under the name the schema gives it here.
class UserOut(UserRefOut):
    pass


class LoginIn(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class TokenIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class TokenOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)


class CreatedTokenOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    token = serializers.CharField(help_text="Shown only in this response.")


class MeOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=["user", "artist", "operator"])
    credits = serializers.IntegerField()
    tier = serializers.CharField()
    locale = serializers.CharField()


class MePatchIn(serializers.Serializer):
    locale = serializers.ChoiceField(choices=[code for code, _name in settings.LANGUAGES])


class ApplicationIn(serializers.Serializer):
    email = serializers.EmailField()
    signature = serializers.FileField()


class ApplicationOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    contact_email = serializers.EmailField()
    created_at = serializers.DateTimeField()


class SignupView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    # JSON only: a cross-site HTML form cannot send it, which closes login CSRF.
    parser_classes = [JSONParser]

    @extend_schema(request=SignupIn, responses={201: UserOut}, tags=["accounts"])
    def post(self, request):
        data = validated(SignupIn, request.data)
        user = services.sign_up(
            username=data["username"],
            password=data["password"],
            email=data.get("email", ""),
            locale=getattr(request, "LANGUAGE_CODE", "en"),
        )
        return Response({"id": user.pk, "username": user.username}, status=status.HTTP_201_CREATED)


class LoginView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    # JSON only: a cross-site HTML form cannot send it, which closes login CSRF.
    parser_classes = [JSONParser]
    throttle_classes = []  # counted by accounts.backends.LoginLimitBackend, as every door

    @extend_schema(request=LoginIn, responses={200: UserOut}, tags=["accounts"])
    def post(self, request):
        data = validated(LoginIn, request.data)
        user = authenticate(request, username=data["username"], password=data["password"])
        if user is None:
            raise errors.Unauthorized(_("Wrong username or password."))
        login(request._request, user, backend="django.contrib.auth.backends.ModelBackend")
        return Response({"id": user.pk, "username": user.username})


class LogoutView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(request=None, responses={204: None}, tags=["accounts"])
    def post(self, request):
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokensView(generics.ListAPIView):
    serializer_class = TokenOut
    pagination_class = CursorPagination

    def get_queryset(self):
        return selectors.tokens_of(self.request.user)

    @extend_schema(tags=["accounts"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=TokenIn, responses={201: CreatedTokenOut}, tags=["accounts"])
    def post(self, request):
        data = validated(TokenIn, request.data)
        token, raw = services.create_token(user=request.user, name=data["name"])
        return Response(
            {"id": token.pk, "name": token.name, "token": raw}, status=status.HTTP_201_CREATED
        )


class TokenDetailView(APIView):
    @extend_schema(request=None, responses={204: None}, tags=["accounts"])
    def delete(self, request, token_id: int):
        services.revoke_token(user=request.user, token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


def me_payload(user) -> dict:

    return {
        "id": user.pk,
        "username": user.username,
        "role": "operator" if user.is_operator else user.role,
        "credits": wallet_of(user)["balance"],
        "tier": tier_of(user).name,
        "locale": user.locale,
    }


@inline()
class MeView(APIView):
    @extend_schema(responses={200: MeOut}, tags=["accounts"])
    def get(self, request):
        return Response(me_payload(request.user))

    @extend_schema(request=MePatchIn, responses={200: MeOut}, tags=["accounts"])
    def patch(self, request):
        data = validated(MePatchIn, request.data)
        services.set_locale(user=request.user, locale=data["locale"])
        return Response(me_payload(request.user))


class ArtistApplicationsView(generics.ListAPIView):
    serializer_class = ApplicationOut
    pagination_class = CursorPagination

    def get_queryset(self):
        return selectors.applications_of(self.request.user)

    @extend_schema(tags=["accounts"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": ApplicationIn},
        responses={201: ApplicationOut},
        tags=["accounts"],
    )
    def post(self, request):
        data = validated(ApplicationIn, request.data)
        application = services.apply_for_artist(
            user=request.user, contact_email=data["email"], signature=data["signature"]
        )
        return Response(ApplicationOut(application).data, status=status.HTTP_201_CREATED)


class SignaturePreviewIn(serializers.Serializer):
    signature = serializers.FileField()


class SignaturePreviewView(APIView):
    """The signature placed on a sample picture by the rule every delivered image follows."""

    @extend_schema(
        request={"multipart/form-data": SignaturePreviewIn},
        responses={(200, "image/png"): bytes},
        tags=["accounts"],
    )
    def post(self, request):
        data = validated(SignaturePreviewIn, request.data)
        png = services.signature_preview(signature=data["signature"])
        return HttpResponse(png, content_type="image/png")
