"""Provenance API (API.md §Provenance): public, read-only views over the log.

Nothing here reveals an event's content: proofs carry leaf hashes only. Certificates (which
show the events behind one image) and the image check are the verification app's.
"""

from __future__ import annotations

import base64
import re

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from stylevault.core import errors
from stylevault.provenance import keys, selectors, services

MAX_INDEX = selectors.MAX_INDEX
_DIGITS = re.compile(r"^[0-9]{1,19}$")


class HeadOut(serializers.Serializer):
    tree_size = serializers.IntegerField()
    root_hash = serializers.CharField(help_text="RFC 9162 Merkle tree hash, hex.")
    timestamp = serializers.IntegerField(help_text="Milliseconds since the Unix epoch (signed).")
    signature = serializers.CharField(
        help_text=(
            "Base64 Ed25519 signature over RFC 6962's TreeHeadSignature: version 0 (1 byte), "
            "signature type 1 (1 byte), timestamp (uint64), tree_size (uint64), root hash "
            "(32 bytes), big-endian."
        )
    )
    key_id = serializers.CharField(help_text="Hex SHA-256 of the DER SubjectPublicKeyInfo.")


class KeyOut(serializers.Serializer):
    algorithm = serializers.CharField()
    key_id = serializers.CharField()
    public_key_pem = serializers.CharField()
    public_key = serializers.CharField(help_text="The raw 32-byte public key, base64.")


class InclusionOut(serializers.Serializer):
    seq = serializers.IntegerField()
    leaf_index = serializers.IntegerField()
    leaf_hash = serializers.CharField(help_text="SHA-256(0x00 || canonical event bytes), hex.")
    tree_size = serializers.IntegerField()
    root_hash = serializers.CharField()
    audit_path = serializers.ListField(child=serializers.CharField(), help_text="Hex hashes.")
    head = HeadOut(allow_null=True, help_text="The signed head of this tree size, if any.")


class ConsistencyOut(serializers.Serializer):
    first = serializers.IntegerField()
    second = serializers.IntegerField()
    first_root_hash = serializers.CharField()
    second_root_hash = serializers.CharField()
    proof = serializers.ListField(child=serializers.CharField(), help_text="Hex hashes.")
    first_head = HeadOut(allow_null=True)
    second_head = HeadOut(allow_null=True)


class InclusionQuery(serializers.Serializer):
    tree_size = serializers.IntegerField(required=False, min_value=1, max_value=MAX_INDEX)


class ConsistencyQuery(serializers.Serializer):
    first = serializers.IntegerField(min_value=1, max_value=MAX_INDEX)
    second = serializers.IntegerField(required=False, min_value=1, max_value=MAX_INDEX)


def _query(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class _Public(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []


class HeadView(_Public):
    @extend_schema(responses={200: HeadOut}, tags=["provenance"])
    def get(self, request):
        return Response(selectors.head_payload(services.sign_tree_head()))


class KeyView(_Public):
    @extend_schema(responses={200: KeyOut}, tags=["provenance"])
    def get(self, request):
        return Response(
            {
                "algorithm": "Ed25519",
                "key_id": keys.key_id(),
                "public_key_pem": keys.public_key_pem(),
                "public_key": base64.b64encode(keys.public_key_raw()).decode(),
            }
        )


class InclusionProofView(_Public):
    @extend_schema(
        parameters=[
            OpenApiParameter("seq", int, OpenApiParameter.PATH),
            OpenApiParameter(
                "tree_size",
                int,
                required=False,
                description="Defaults to the latest signed head (signed now if events are new).",
            ),
        ],
        responses={200: InclusionOut},
        tags=["provenance"],
    )
    def get(self, request, seq: str):
        if not _DIGITS.match(seq) or int(seq) > MAX_INDEX:
            raise errors.ValidationFailed(
                _("The event number must be a whole number from 0."), details={"seq": seq}
            )
        index = int(seq)
        query = _query(InclusionQuery, request)
        selectors.event(index)  # 404 before anything else
        tree_size = query.get("tree_size") or services.sign_tree_head().tree_size
        return Response(selectors.inclusion_proof(seq=index, tree_size=tree_size))


class ConsistencyProofView(_Public):
    @extend_schema(
        parameters=[
            OpenApiParameter("first", int, required=True),
            OpenApiParameter(
                "second", int, required=False, description="Defaults to the latest signed head."
            ),
        ],
        responses={200: ConsistencyOut},
        tags=["provenance"],
    )
    def get(self, request):
        query = _query(ConsistencyQuery, request)
        second = query.get("second") or services.sign_tree_head().tree_size
        return Response(selectors.consistency_proof(first=query["first"], second=second))
