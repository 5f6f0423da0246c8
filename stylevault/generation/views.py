"""Generation pages: my images, one generation's page and its live progress panel, and the
generator on a style's page (its quote and its submit). Thin: every rule is in generation.services and
generation.selectors; the panel shows the API's own generation payload."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from stylevault.core import errors
from stylevault.core.pages import apply_service_error, is_htmx
from stylevault.core.paging import keyset_page, next_link
from stylevault.generation import selectors, services
from stylevault.generation.forms import Generator, ImageForm
from stylevault.generation.models import FINAL_STATUSES, Generation, GenerationStatus, Image
from stylevault.generation.payloads import generation_payload
from stylevault.ledger.selectors import wallet_of
from stylevault.styles import views as style_views
from stylevault.styles.models import Style

IMAGES_PER_PAGE = 24


def panel_context(generation: Generation) -> dict:
    """What the progress panel shows: API.md's generation payload and its status in words."""
    run = generation_payload(generation)
    return {
        "run": run,
        "status_label": GenerationStatus(run["status"]).label,
        "finished": run["status"] in FINAL_STATUSES,
    }


def render_panel(request: HttpRequest, generation: Generation, **extra) -> HttpResponse:
    return render(request, "generation/_panel.html", {**panel_context(generation), **extra})


def _own_generation(request: HttpRequest, generation_id: int) -> Generation:
    generation = selectors.generation_for(request.user, generation_id)
    if generation is None:
        raise Http404
    return generation


@login_required
def detail(request: HttpRequest, generation_id: int) -> HttpResponse:
    generation = _own_generation(request, generation_id)
    context = {**panel_context(generation), "generation": generation}
    return render(request, "generation/detail.html", context)


@login_required
def panel(request: HttpRequest, generation_id: int) -> HttpResponse:
    return render_panel(request, _own_generation(request, generation_id))


@login_required
@require_POST
def cancel(request: HttpRequest, generation_id: int) -> HttpResponse:
    notice = None
    try:
        services.cancel_generation(user=request.user, generation_id=generation_id)
    except errors.NotFound as exc:
        raise Http404 from exc
    except errors.DomainError as exc:
        notice = exc.message
    if is_htmx(request):
        return render_panel(request, _own_generation(request, generation_id), notice=notice)
    if notice:
        messages.error(request, notice)
    return redirect("generation:detail", generation_id=generation_id)


def _image_row(image: Image, form: ImageForm | None = None) -> dict:
    initial = {"visibility": image.visibility, "description": image.description}
    return {
        "image": image,
        "form": form or ImageForm(initial=initial, auto_id=f"id_image_{image.pk}_%s"),
    }


@login_required
def my_images(request: HttpRequest) -> HttpResponse:
    page = keyset_page(
        selectors.images_of(request.user),
        field="created_at",
        cursor=request.GET.get("cursor"),
        limit=IMAGES_PER_PAGE,
    )
    context = {"rows": [_image_row(i) for i in page.items], "more": next_link(request, page)}
    return render(request, "generation/my_images.html", context)


def _my_image(request: HttpRequest, image_id: int) -> Image:
    image = selectors.images_of(request.user).filter(pk=image_id).first()
    if image is None:
        raise Http404
    return image


@login_required
@require_POST
def edit_image(request: HttpRequest, image_id: int) -> HttpResponse:
    """Visibility and description of one of my images; htmx swaps the row in place."""
    form = ImageForm(request.POST, auto_id=f"id_image_{image_id}_%s")
    saved = None
    if form.is_valid():
        try:
            saved = services.update_image(user=request.user, image_id=image_id, **form.cleaned_data)
        except errors.NotFound as exc:
            raise Http404 from exc
        except errors.DomainError as exc:
            apply_service_error(form, exc)
    if is_htmx(request):
        row = _image_row(saved or _my_image(request, image_id), None if saved else form)
        return render(request, "generation/_image_row.html", row)
    if saved is None:
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
    else:
        messages.success(request, _("The image was saved."))
    return redirect("generation:my-images")


# ----------------------------------------------------------------- the generator on a style's page


def _quote(user, style: Style, generator: Generator) -> dict:
    if not generator.is_valid():
        return {"error": generator.error_text()}
    try:
        found = services.validate_body(user=user, body=generator.body(style.pk))
    except errors.DomainError as exc:
        return {"error": exc.message}
    return {
        "cost": found.cost(),
        "images": found.image_total,
        "balance": wallet_of(user)["balance"],
    }


@require_POST
def quote(request: HttpRequest, style_id: int) -> HttpResponse:
    """The generator's cost, computed by the service exactly as the request would be; an
    anonymous visitor is asked to log in."""
    style = style_views.style_or_404(request, style_id)
    context: dict = {"style": style}
    if request.user.is_authenticated:
        context.update(_quote(request.user, style, Generator.read(request.POST)))
    return render(request, "generation/_quote.html", context)


@login_required
@require_POST
def generate(request: HttpRequest, style_id: int) -> HttpResponse:
    style = style_views.style_or_404(request, style_id)
    generator = Generator.read(request.POST)
    if generator.is_valid():
        try:
            generation = services.request_generation(
                user=request.user, body=generator.body(style.pk), idempotency_key=generator.key
            )
        except errors.RateLimited:
            raise  # 429 with Retry-After (web.middleware), as the API answers
        except errors.DomainError as exc:
            apply_service_error(generator.main, exc)
        else:
            if not is_htmx(request):
                return redirect("generation:detail", generation_id=generation.pk)
            context = {**panel_context(generation), "fresh": Generator.read()}
            return render(request, "generation/_generated.html", context)
    if not is_htmx(request):
        return style_views.render_detail(request, style, status=400, generator=generator)
    # htmx swaps only 2xx answers: the form comes back in place of itself, with its errors.
    response = render(
        request, "generation/_generator.html", {"generator": generator, "style": style}
    )
    response["HX-Retarget"], response["HX-Reswap"] = "#generator", "outerHTML"
    return response
