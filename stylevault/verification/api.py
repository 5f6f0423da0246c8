"""Verification API (API.md §Provenance): whether an image was made here, and an image's
certificate with its inclusion proof. The log's own views are provenance.api."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from stylevault.core import errors
from stylevault.core.api import validated
from stylevault.generation.selectors import image_for
from stylevault.provenance.api import InclusionOut
from stylevault.verification.certificates import certificate
from stylevault.verification.services import verify_image


class VerifyIn(serializers.Serializer):
    image = serializers.FileField()


class CertificateOut(serializers.Serializer):
    image_id = serializers.IntegerField()
    generation_id = serializers.IntegerField()
    sha256 = serializers.CharField()
    style = serializers.DictField()
    artist = serializers.DictField()
    license = serializers.CharField()
    created_at = serializers.DateTimeField()
    certificate_url = serializers.CharField()
    events = serializers.ListField(child=serializers.DictField())
    proof = InclusionOut(allow_null=True)


class VerifyOut(serializers.Serializer):
    match = serializers.BooleanField()
    method = serializers.ChoiceField(choices=["c2pa", "watermark", "fingerprint"], required=False)
    image_id = serializers.IntegerField(required=False)
    generation_id = serializers.IntegerField(required=False)
    style = serializers.DictField(required=False)
    artist = serializers.DictField(required=False)
    license = serializers.CharField(required=False)
    certificate_url = serializers.CharField(required=False)
    events = serializers.ListField(child=serializers.DictField(), required=False)
    proof = InclusionOut(allow_null=True, required=False)


class VerifyView(APIView):
    """Anyone may ask whether an image was made here."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []

    @extend_schema(
        request={"multipart/form-data": VerifyIn}, responses={200: VerifyOut}, tags=["provenance"]
    )
    def post(self, request):
        return Response(verify_image(validated(VerifyIn, request.data)["image"]))


class ImageCertificateView(APIView):
    """An image's certificate with its inclusion proof (its owner, or anyone when public)."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: CertificateOut}, tags=["provenance"])
    def get(self, request, image_id: int):
        image = image_for(request.user, image_id)
        if image is None:
            raise errors.NotFound(_("No such image."))
        return Response(certificate(image))
