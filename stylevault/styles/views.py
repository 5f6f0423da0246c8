"""Style pages: search, a style's page with the generator (or, for its artist, its training
progress and check report), creating a style, my styles. Thin: every rule is in
styles.services / styles.selectors / styles.search; the generator and its quote are
generation's (generation.views)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from stylevault.core import errors
from stylevault.core.pages import apply_service_error, is_htmx
from stylevault.core.paging import Page, keyset_page, next_link
from stylevault.styles import search, selectors, services
from stylevault.styles.forms import PriceForm, StyleForm
from stylevault.styles.models import Style, StyleStatus

STYLES_PER_PAGE = 24
SIMILAR_SHOWN = 6
# While a style is in one of these, its page polls its status every 2 s.
ACTIVE = {StyleStatus.QUEUED, StyleStatus.TRAINING, StyleStatus.CHECKING}
STAGES = {"training": StyleStatus.TRAINING.label, "checking": StyleStatus.CHECKING.label}
REASONS = {
    "inconsistent_training_set": gettext_lazy(
        "The training works do not look like one artist's style."
    ),
    "duplicate_training_images": gettext_lazy(
        "Some training works are already used by another artist or published here."
    ),
    "similar_to_published_style": gettext_lazy(
        "The style is very close to a published style of another artist."
    ),
}


def _tags(raw: str) -> list[str]:
    return [t.strip() for t in raw.split(",") if t.strip()]


def _toggle(tags: list[str], name: str, q: str) -> str:
    """The search query with the tag `name` added, or removed when it is already chosen."""
    chosen = [t for t in tags if t != name] if name in tags else [*tags, name]
    return urlencode({k: v for k, v in (("tags", ",".join(chosen)), ("q", q)) if v})


@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    tags, q = _tags(request.GET.get("tags", "")), request.GET.get("q", "").strip()
    error = None
    try:
        rows = search.search_styles(tags=tags, q=q).prefetch_related("samples")
        page = keyset_page(
            rows, field="published_at", cursor=request.GET.get("cursor"), limit=STYLES_PER_PAGE
        )
    except errors.ValidationFailed as exc:
        page, error = Page([], None), exc.message
    popular = [
        {**tag, "active": tag["name"] in tags, "query": _toggle(tags, tag["name"], q)}
        for tag in search.popular_tags()
    ]
    context = {
        "page": page,
        "more": next_link(request, page),
        "tags": ", ".join(tags),
        "q": q,
        "error": error,
        "popular": popular,
    }
    return render(request, "styles/search.html", context, status=400 if error else 200)


def style_or_404(request: HttpRequest, style_id: int) -> Style:
    style = selectors.style_for(request.user, style_id)
    if style is None:
        raise Http404
    return style


def _similar(qa: dict) -> list[dict]:
    items = qa.get("similar", [])
    found = selectors.published_styles().in_bulk([item["style_id"] for item in items])
    return [
        {
            "id": item["style_id"],
            "style": found.get(item["style_id"]),
            "percent": round(100 * max(item["similarity"].values(), default=0)),
            "flagged": item["flagged"],
        }
        for item in items
    ]


def _report(style: Style) -> dict | None:
    """The check report (`style.qa`) in words; None before the checks have run."""
    qa = style.qa or {}
    if "flagged" not in qa:
        return None
    consistency = qa.get("consistency") or {}
    return {
        "flagged": qa["flagged"],
        "reasons": [REASONS.get(code, code) for code in qa.get("reasons", [])],
        "consistency": {
            "flagged": consistency.get("flagged"),
            "metrics": [
                (k, round(v, 3) if isinstance(v, float) else v)
                for k, v in consistency.items()
                if k != "flagged"
            ],
        }
        if consistency
        else None,
        "duplicates": qa.get("duplicates", []),
        "similar": _similar(qa),
    }


def _progress(style: Style) -> dict | None:
    progress = selectors.progress_of(style)
    if progress:
        progress["stage_label"] = STAGES.get(progress.get("stage"), progress.get("stage"))
    return progress


def _status_context(style: Style) -> dict:
    return {
        "style": style,
        "active": style.status in ACTIVE,
        "progress": _progress(style),
        "report": _report(style),
    }


def render_detail(
    request: HttpRequest, style: Style, *, status: int = 200, **extra
) -> HttpResponse:
    """A style's page. Its generator is generation's (the `generator` tag); a failed submit
    hands its bound generator back in `extra`."""
    manage = selectors.can_manage(request.user, style)
    context = {
        "style": style,
        **extra,
        "manage": manage,
        "similar": selectors.similar_styles(style, limit=SIMILAR_SHOWN)
        if style.is_published
        else [],
        **(_status_context(style) if manage else {}),
    }
    return render(request, "styles/detail.html", context, status=status)


@require_GET
def detail(request: HttpRequest, style_id: int) -> HttpResponse:
    return render_detail(request, style_or_404(request, style_id))


@require_GET
def status_card(request: HttpRequest, style_id: int) -> HttpResponse:
    """The artist's live status card (htmx polls it); reloads the page once the work ends."""
    style = style_or_404(request, style_id)
    if not selectors.can_manage(request.user, style):
        raise Http404
    context = _status_context(style)
    response = render(request, "styles/_status.html", context)
    if is_htmx(request) and not context["active"]:
        response["HX-Refresh"] = "true"  # the page now shows the report and the generator
    return response


@login_required
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    form = StyleForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            style = services.create_style(
                artist=request.user,
                name=data["name"],
                description=data["description"],
                tags=data["tags"],
                price_per_image=data["price_per_image"],
                nsfw_allowed=data["nsfw_allowed"],
                images=data["images"],
                captions=request.POST.getlist("captions") or None,
                lora=data["lora"],
            )
        except errors.DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(
                request, _("%(name)s was created. Its training has started.") % {"name": style}
            )
            return redirect("styles:detail", style_id=style.pk)
    status = 400 if form.errors else 200
    return render(request, "styles/create.html", {"form": form}, status=status)


@login_required
@require_GET
def my_styles(request: HttpRequest) -> HttpResponse:
    page = keyset_page(
        selectors.styles_of(request.user).select_related("training_job", "check_job"),
        field="created_at",
        cursor=request.GET.get("cursor"),
        limit=STYLES_PER_PAGE,
    )
    rows = [
        {
            "style": style,
            "progress": _progress(style),
            "form": PriceForm(
                initial={"price_per_image": style.price_per_image},
                auto_id=f"id_style_{style.pk}_%s",
            ),
        }
        for style in page.items
    ]
    return render(
        request, "styles/my_styles.html", {"rows": rows, "more": next_link(request, page)}
    )


@login_required
@require_POST
def set_price(request: HttpRequest, style_id: int) -> HttpResponse:
    form = PriceForm(request.POST)
    try:
        if not form.is_valid():
            raise errors.ValidationFailed()
        style = services.update_style(
            artist=request.user,
            style_id=style_id,
            price_per_image=form.cleaned_data["price_per_image"],
        )
    except errors.NotFound as exc:
        raise Http404 from exc
    except errors.DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The price of %(name)s is now %(price)s credits per image.")
            % {"name": style, "price": style.price_per_image},
        )
    return redirect("styles:mine")
