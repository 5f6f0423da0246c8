"""Community pages: the feed (infinite scroll with htmx), image pages with likes and
comments, artist pages, the artists I follow. Thin: rules are in community.services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from stylevault.community import selectors, services
from stylevault.community.forms import CommentForm
from stylevault.core import errors, pages
from stylevault.core.pages import domain_errors_as_http, is_htmx
from stylevault.core.paging import Page, next_link

COMMENTS_PER_PAGE = 50
ARTISTS_PER_PAGE = 50


def _images(request, page: Page, template: str, context: dict) -> HttpResponse:
    """A page of image tiles; an htmx request (the infinite scroll) gets the tiles only."""
    context = {
        **context,
        "page": page,
        "more": next_link(request, page),
        "liked": selectors.liked_ids(pages.viewer(request), [image.pk for image in page.items]),
    }
    response = render(request, "community/_images.html" if is_htmx(request) else template, context)
    patch_vary_headers(response, ["HX-Request"])  # one address, two bodies: keep caches apart
    return response


@domain_errors_as_http
def feed(request):
    following = request.GET.get("following") == "1"
    cursor = request.GET.get("cursor")
    if not following:
        page = selectors.feed(cursor=cursor)
    elif request.user.is_authenticated:
        page = selectors.following_feed(viewer=request.user, cursor=cursor)
    else:
        return redirect_to_login(request.get_full_path())
    return _images(request, page, "community/feed.html", {"following": following})


def _image_page(request, image, form: CommentForm) -> HttpResponse:
    comments = selectors.comments_page(
        image=image, cursor=request.GET.get("cursor"), limit=COMMENTS_PER_PAGE
    )
    viewer = pages.viewer(request)
    context = {
        "image": image,
        "liked": image.pk in selectors.liked_ids(viewer, [image.pk]),
        "comments": comments,
        "more": next_link(request, comments),
        "deletable": {c.pk for c in comments.items if selectors.may_delete_comment(viewer, c)},
        "form": form,
    }
    return render(request, "community/image.html", context, status=400 if form.errors else 200)


@domain_errors_as_http
def image(request, image_id: int):
    return _image_page(request, selectors.get_image(pages.viewer(request), image_id), CommentForm())


@login_required
@require_POST
@domain_errors_as_http
def like(request, image_id: int):
    liked = request.POST.get("action") != "unlike"
    toggle = services.like_image if liked else services.unlike_image
    image = toggle(user=request.user, image_id=image_id)
    if is_htmx(request):
        return render(request, "community/_like.html", {"image": image, "liked": liked})
    return redirect("community:image", image_id=image_id)


@login_required
@require_POST
@domain_errors_as_http
def comment(request, image_id: int):
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            services.add_comment(
                user=request.user, image_id=image_id, body=form.cleaned_data["body"]
            )
        except errors.ValidationFailed as exc:
            form.add_error("body", exc.message)
        else:
            messages.success(request, _("Your comment was posted."))
            return redirect("community:image", image_id=image_id)
    return _image_page(request, selectors.get_image(request.user, image_id), form)


@login_required
@require_POST
@domain_errors_as_http
def delete_comment(request, comment_id: int):
    deleted = services.delete_comment(user=request.user, comment_id=comment_id)
    messages.success(request, _("The comment was deleted."))
    return redirect("community:image", image_id=deleted.image_id)


@domain_errors_as_http
def artist(request, artist_id: int):
    found = selectors.get_artist(artist_id)
    page = selectors.artist_images(artist=found, cursor=request.GET.get("cursor"))
    # The infinite scroll needs the tiles only, not the artist's header.
    profile = (
        {}
        if is_htmx(request)
        else selectors.artist_profile(viewer=pages.viewer(request), artist=found)
    )
    return _images(request, page, "community/artist.html", profile)


@login_required
@require_POST
@domain_errors_as_http
def follow(request, artist_id: int):
    following = request.POST.get("action") != "unfollow"
    toggle = services.follow_artist if following else services.unfollow_artist
    found = toggle(user=request.user, artist_id=artist_id)
    if is_htmx(request):
        context = {
            "artist": found,
            "following": following,
            "follower_count": selectors.follower_count(found),
        }
        return render(request, "community/_follow.html", context)
    return redirect("community:artist", artist_id=artist_id)


@login_required
@domain_errors_as_http
def following(request):
    page = selectors.following_page(
        user=request.user, cursor=request.GET.get("cursor"), limit=ARTISTS_PER_PAGE
    )
    return render(
        request, "community/following.html", {"page": page, "more": next_link(request, page)}
    )
