"""Community API (API.md §Community): feeds, likes, comments, follows, artist profiles.

Thin: visibility is decided by generation.selectors, rules by community.services. Anyone may
read the public parts; writing needs an account.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from stylevault.community import selectors, services
from stylevault.community.models import COMMENT_MAX_LENGTH
from stylevault.core import errors, pages
from stylevault.core.api import UserRefOut, inline, validated
from stylevault.core.openapi import error_responses
from stylevault.core.paging import DEFAULT_LIMIT, MAX_ID, Page, PageQuery, next_link


class StyleRefOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class FeedImageOut(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    description = serializers.CharField()
    like_count = serializers.IntegerField()
    comment_count = serializers.IntegerField()
    liked = serializers.SerializerMethodField()
    published_at = serializers.DateTimeField()
    owner = UserRefOut()
    style = StyleRefOut()
    artist = UserRefOut()

    def get_url(self, image) -> str:
        return selectors.image_file_url(image.pk)

    def get_liked(self, image) -> bool:
        return False  # per viewer: tiles are shared, _with_liked sets it for each request


class FeedPageOut(serializers.Serializer):
    results = FeedImageOut(many=True)
    next = serializers.URLField(allow_null=True)


class FeedQuery(PageQuery):
    following = serializers.BooleanField(
        required=False, default=False, help_text="Only images in styles of artists I follow."
    )
    artist = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="Only images in this artist's styles.",
    )


class LikeOut(serializers.Serializer):
    liked = serializers.BooleanField()
    like_count = serializers.IntegerField()


class CommentIn(serializers.Serializer):
    body = serializers.CharField(max_length=COMMENT_MAX_LENGTH)


class CommentOut(serializers.Serializer):
    id = serializers.IntegerField()
    body = serializers.CharField(help_text="Plain text: escape it when showing it as HTML.")
    author = UserRefOut()
    created_at = serializers.DateTimeField()
    can_delete = serializers.SerializerMethodField()

    def get_can_delete(self, comment) -> bool:
        return selectors.may_delete_comment(self.context["viewer"], comment)


class CommentPageOut(serializers.Serializer):
    results = CommentOut(many=True)
    next = serializers.URLField(allow_null=True)


class FollowOut(serializers.Serializer):
    following = serializers.BooleanField()
    follower_count = serializers.IntegerField()


class FollowedOut(serializers.Serializer):
    id = serializers.IntegerField(source="artist.id")
    username = serializers.CharField(source="artist.username")
    followed_at = serializers.DateTimeField(source="created_at")


class FollowedPageOut(serializers.Serializer):
    results = FollowedOut(many=True)
    next = serializers.URLField(allow_null=True)


class ArtistStyleOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    tags = serializers.SerializerMethodField()
    price_per_image = serializers.IntegerField()
    published_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, style) -> list[str]:
        return [tag.name for tag in style.tags.all()]


class ArtistProfileOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    follower_count = serializers.IntegerField()
    following = serializers.BooleanField(help_text="Whether I follow this artist.")
    style_count = serializers.IntegerField()
    styles = ArtistStyleOut(many=True, help_text="Published styles, newest first (up to 100).")
    images = FeedImageOut(
        many=True, help_text="Public images in the artist's styles, newest first."
    )
    images_next = serializers.URLField(
        allow_null=True, help_text="The next page of `images`, in the feed."
    )


def _tiles(page: Page) -> list[dict]:
    """The page's tiles as every viewer sees them (`liked` false; see _with_liked)."""
    return FeedImageOut(page.items, many=True).data


def _with_liked(request, tiles: list[dict]) -> list[dict]:
    liked = selectors.liked_ids(pages.viewer(request), [tile["id"] for tile in tiles])
    return [{**tile, "liked": tile["id"] in liked} for tile in tiles]


def _images(request, page: Page) -> list[dict]:
    return _with_liked(request, _tiles(page))


def _public_feed(cursor: str | None, limit: int) -> tuple[list[dict], Page]:
    """The public feed's tiles and (item-less) page, kept per process like its images."""

    def build() -> tuple[list[dict], Page]:
        page = selectors.feed(cursor=cursor, limit=limit)
        return _tiles(page), Page([], page.next_cursor)

    return selectors.PUBLIC_FEED.get(("tiles", cursor, limit), build, keep=limit <= DEFAULT_LIMIT)


@inline("cursor", "limit")
class FeedView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[FeedQuery],
        responses={200: FeedPageOut, **error_responses(400, 401, 404)},
        tags=["community"],
    )
    def get(self, request):
        query = validated(FeedQuery, request.query_params)
        paging = {"cursor": query.get("cursor"), "limit": query["limit"]}
        if query["following"]:
            if not request.user.is_authenticated:
                raise errors.Unauthorized()
            page = selectors.following_feed(viewer=request.user, **paging)
        elif "artist" in query:
            page = selectors.artist_images(artist=selectors.get_artist(query["artist"]), **paging)
        else:
            tiles, page = _public_feed(**paging)
            return Response(
                {"results": _with_liked(request, tiles), "next": next_link(request, page)}
            )
        return Response({"results": _images(request, page), "next": next_link(request, page)})


class LikeView(APIView):
    def _answer(self, image, liked: bool) -> Response:
        return Response({"liked": liked, "like_count": image.like_count})

    @extend_schema(
        request=None, responses={200: LikeOut, **error_responses(401, 404)}, tags=["community"]
    )
    def post(self, request, image_id: int):
        return self._answer(services.like_image(user=request.user, image_id=image_id), True)

    @extend_schema(
        request=None, responses={200: LikeOut, **error_responses(401, 404)}, tags=["community"]
    )
    def delete(self, request, image_id: int):
        return self._answer(services.unlike_image(user=request.user, image_id=image_id), False)


class CommentsView(APIView):
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]

    @extend_schema(
        parameters=[PageQuery],
        responses={200: CommentPageOut, **error_responses(400, 404)},
        tags=["community"],
    )
    def get(self, request, image_id: int):
        query = validated(PageQuery, request.query_params)
        image = selectors.get_image(pages.viewer(request), image_id)
        page = selectors.comments_page(
            image=image, cursor=query.get("cursor"), limit=query["limit"]
        )
        context = {"viewer": pages.viewer(request)}
        return Response(
            {
                "results": CommentOut(page.items, many=True, context=context).data,
                "next": next_link(request, page),
            }
        )

    @extend_schema(
        request=CommentIn,
        responses={201: CommentOut, **error_responses(400, 401, 404)},
        tags=["community"],
    )
    def post(self, request, image_id: int):
        data = validated(CommentIn, request.data)
        comment = services.add_comment(user=request.user, image_id=image_id, body=data["body"])
        body = CommentOut(comment, context={"viewer": request.user}).data
        return Response(body, status=status.HTTP_201_CREATED)


class CommentView(APIView):
    @extend_schema(
        request=None, responses={204: None, **error_responses(401, 403, 404)}, tags=["community"]
    )
    def delete(self, request, comment_id: int):
        services.delete_comment(user=request.user, comment_id=comment_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FollowView(APIView):
    def _answer(self, request, artist) -> Response:
        return Response(
            {
                "following": selectors.is_following(request.user, artist),
                "follower_count": selectors.follower_count(artist),
            }
        )

    @extend_schema(
        request=None,
        responses={200: FollowOut, **error_responses(400, 401, 404)},
        tags=["community"],
    )
    def post(self, request, artist_id: int):
        return self._answer(request, services.follow_artist(user=request.user, artist_id=artist_id))

    @extend_schema(
        request=None, responses={200: FollowOut, **error_responses(401, 404)}, tags=["community"]
    )
    def delete(self, request, artist_id: int):
        artist = services.unfollow_artist(user=request.user, artist_id=artist_id)
        return self._answer(request, artist)


class FollowingView(APIView):
    @extend_schema(
        parameters=[PageQuery],
        responses={200: FollowedPageOut, **error_responses(400, 401)},
        tags=["community"],
    )
    def get(self, request):
        query = validated(PageQuery, request.query_params)
        page = selectors.following_page(
            user=request.user, cursor=query.get("cursor"), limit=query["limit"]
        )
        return Response(
            {"results": FollowedOut(page.items, many=True).data, "next": next_link(request, page)}
        )


class ArtistView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: ArtistProfileOut, **error_responses(404)}, tags=["community"])
    def get(self, request, artist_id: int):
        artist = selectors.get_artist(artist_id)
        profile = selectors.artist_profile(viewer=pages.viewer(request), artist=artist)
        images = selectors.artist_images(artist=artist)
        more = None
        if images.next_cursor:
            query = urlencode({"artist": artist.pk, "cursor": images.next_cursor})
            more = request.build_absolute_uri(f"{reverse('community-api-feed')}?{query}")
        return Response(
            {
                "id": artist.pk,
                "username": artist.username,
                "follower_count": profile["follower_count"],
                "following": profile["following"],
                "style_count": profile["style_count"],
                "styles": ArtistStyleOut(profile["styles"], many=True).data,
                "images": _images(request, images),
                "images_next": more,
            }
        )
