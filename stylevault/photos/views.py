"""Photo studio pages: upload (with the faces found), the variants as they render, pick and
delete. Thin: the rules are in photos.services; the panel shows the API's photo payload."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from stylevault.core import errors
from stylevault.core.pages import apply_service_error
from stylevault.photos import api, selectors, services
from stylevault.photos.forms import PhotoForm


def _photo(request: HttpRequest, photo_id: int):
    photo = selectors.photo_for(request.user, photo_id)
    if photo is None:
        raise Http404
    return photo


def _context(photo) -> dict:
    run = api.photo_payload(photo)
    return {"photo": photo, "run": run, "finished": run["status"] in ("succeeded", "failed")}


@login_required
def studio(request: HttpRequest) -> HttpResponse:
    """The upload form and my photos; a refused photo shows why, with the faces found."""
    form = PhotoForm(request.POST or None, request.FILES or None)
    refused = None
    if request.method == "POST" and form.is_valid():
        try:
            photo = services.upload_photo(
                user=request.user,
                upload=form.cleaned_data["image"],
                style_id=form.cleaned_data["style"].pk,
            )
        except errors.DomainError as exc:
            apply_service_error(form, exc)
            refused = exc.details if "faces" in exc.details else None
        else:
            return redirect("photos:detail", photo_id=photo.pk)
    photos = [api.photo_payload(p) for p in selectors.photos_of(request.user)[:50]]
    status = 422 if refused else 400 if form.errors else 200
    return render(
        request,
        "photos/studio.html",
        {"form": form, "photos": photos, "refused": refused},
        status=status,
    )


@login_required
def detail(request: HttpRequest, photo_id: int) -> HttpResponse:
    return render(request, "photos/detail.html", _context(_photo(request, photo_id)))


@login_required
def panel(request: HttpRequest, photo_id: int) -> HttpResponse:
    return render(request, "photos/_panel.html", _context(_photo(request, photo_id)))


@login_required
@require_POST
def pick(request: HttpRequest, photo_id: int) -> HttpResponse:
    try:
        variant = int(request.POST.get("variant_id", ""))
        services.pick_variant(user=request.user, photo_id=photo_id, variant_id=variant)
    except (ValueError, errors.NotFound) as exc:
        raise Http404 from exc
    except errors.Conflict as exc:
        messages.error(request, exc.message)
        return redirect("photos:detail", photo_id=photo_id)
    messages.success(request, _("Your final portrait is saved in your images."))
    return redirect("photos:detail", photo_id=photo_id)


@login_required
@require_POST
def delete(request: HttpRequest, photo_id: int) -> HttpResponse:
    try:
        services.delete_photo(user=request.user, photo_id=photo_id)
    except errors.NotFound as exc:
        raise Http404 from exc
    messages.success(request, _("The photo and its unpicked variants were deleted."))
    return redirect("photos:studio")
