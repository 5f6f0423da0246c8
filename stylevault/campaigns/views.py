"""Campaign studio pages: the start page (brands, today's ideas, history), brand settings, the
htmx chat and the draft panel (live progress, layout choice, export). Thin: every rule is in
campaigns.services and campaigns.selectors; the panel shows the API's own draft payload."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from stylevault.campaigns import api, selectors, services
from stylevault.campaigns.forms import BrandForm, MessageForm
from stylevault.campaigns.models import DraftStatus
from stylevault.core import errors
from stylevault.core.pages import apply_service_error
from stylevault.styles.models import Style, StyleStatus


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _styles():
    return Style.objects.filter(status=StyleStatus.PUBLISHED).order_by("name")[:100]


@login_required
def home(request: HttpRequest) -> HttpResponse:
    brands = list(selectors.brands_of(request.user))
    chosen = next((b for b in brands if str(b.pk) == request.GET.get("brand")), None)
    chosen = chosen or (brands[0] if brands else None)
    sessions = selectors.sessions_of(request.user).prefetch_related("drafts")[:30]
    history = [
        {"session": s, "ads": [d for d in s.drafts.all() if d.status == DraftStatus.SUCCEEDED][:4]}
        for s in sessions
    ]
    context = {
        "brands": brands,
        "chosen": chosen,
        "ideas": selectors.recommendations(chosen) if chosen else [],
        "history": history,
    }
    return render(request, "campaigns/home.html", context)


def _brand_data(form: BrandForm) -> dict:
    data = {
        k: v for k, v in form.cleaned_data.items() if v not in ("", None) or k == "default_style_id"
    }
    if not form.cleaned_data.get("logo"):
        data.pop("logo", None)
    return data


@login_required
def brand_new(request: HttpRequest) -> HttpResponse:
    form = BrandForm(request.POST or None, request.FILES or None, styles=_styles())
    if request.method == "POST" and form.is_valid():
        try:
            brand = services.create_brand(owner=request.user, data=_brand_data(form))
        except errors.DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The brand was saved."))
            return redirect(f"{redirect('campaigns:home').url}?brand={brand.pk}")
    return render(request, "campaigns/brand.html", {"form": form, "brand": None})


@login_required
def brand_edit(request: HttpRequest, brand_id: int) -> HttpResponse:
    brand = selectors.brand_for(request.user, brand_id)
    if brand is None:
        raise Http404
    initial = api.brand_payload(brand)
    form = BrandForm(request.POST or None, request.FILES or None, initial=initial, styles=_styles())
    if request.method == "POST" and form.is_valid():
        try:
            services.update_brand(owner=request.user, brand_id=brand_id, data=_brand_data(form))
        except errors.DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The brand was saved."))
            return redirect("campaigns:brand-edit", brand_id=brand_id)
    return render(request, "campaigns/brand.html", {"form": form, "brand": brand})


@login_required
@require_POST
def brand_delete(request: HttpRequest, brand_id: int) -> HttpResponse:
    try:
        services.delete_brand(owner=request.user, brand_id=brand_id)
    except errors.NotFound as exc:
        raise Http404 from exc
    messages.success(request, _("The brand was deleted."))
    return redirect("campaigns:home")


@login_required
@require_POST
def session_start(request: HttpRequest, brand_id: int) -> HttpResponse:
    try:
        session = services.create_session(owner=request.user, brand_id=brand_id)
    except errors.NotFound as exc:
        raise Http404 from exc
    idea = request.POST.get("brief", "")
    url = redirect("campaigns:chat", session_id=session.pk).url
    return redirect(f"{url}?brief={idea}" if idea else url)


def _own_session(request: HttpRequest, session_id: int):
    session = selectors.session_for(request.user, session_id)
    if session is None:
        raise Http404
    return session


def _turns(session) -> list[dict]:
    rows = []
    for message in session.messages.select_related("draft", "draft__generation"):
        draft = getattr(message, "draft", None) if message.role == "assistant" else None
        rows.append({"message": message, "draft": api.draft_payload(draft) if draft else None})
    return rows


@login_required
def chat(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _own_session(request, session_id)
    form = MessageForm(initial={"text": request.GET.get("brief", "")}, styles=_styles())
    context = {"session": session, "turns": _turns(session), "form": form}
    return render(request, "campaigns/chat.html", context)


@login_required
@require_POST
def send(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _own_session(request, session_id)
    form = MessageForm(request.POST, styles=_styles())
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v not in ("", None)}
        try:
            services.post_message(owner=request.user, session_id=session_id, **data)
            form = MessageForm(styles=_styles())
        except errors.DomainError as exc:
            apply_service_error(form, exc)
    if _is_htmx(request):
        context = {"session": session, "turns": _turns(session), "form": form}
        return render(request, "campaigns/_conversation.html", context)
    if form.errors:
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
    return redirect("campaigns:chat", session_id=session_id)


@login_required
@require_POST
def rename(request: HttpRequest, session_id: int) -> HttpResponse:
    try:
        services.rename_session(
            owner=request.user, session_id=session_id, title=request.POST.get("title", "")
        )
    except errors.NotFound as exc:
        raise Http404 from exc
    except errors.DomainError as exc:
        messages.error(request, exc.message)
    return redirect("campaigns:chat", session_id=session_id)


@login_required
@require_POST
def session_delete(request: HttpRequest, session_id: int) -> HttpResponse:
    try:
        services.delete_session(owner=request.user, session_id=session_id)
    except errors.NotFound as exc:
        raise Http404 from exc
    messages.success(request, _("The session was deleted."))
    return redirect("campaigns:home")


def _own_draft(request: HttpRequest, draft_id: int):
    draft = selectors.draft_for(request.user, draft_id)
    if draft is None:
        raise Http404
    return draft


def _panel(request: HttpRequest, draft, notice: str = "") -> HttpResponse:
    payload = api.draft_payload(draft)
    progress = {}
    if draft.generation is not None and draft.generation.job_id:
        progress = draft.generation.job.progress or {}
    context = {"draft": payload, "progress": progress, "notice": notice}
    return render(request, "campaigns/_draft.html", context)


@login_required
def draft_panel(request: HttpRequest, draft_id: int) -> HttpResponse:
    return _panel(request, _own_draft(request, draft_id))


@login_required
@require_POST
def draft_layout(request: HttpRequest, draft_id: int) -> HttpResponse:
    notice = ""
    try:
        services.choose_layout(
            owner=request.user, draft_id=draft_id, layout=request.POST.get("layout", "")
        )
    except errors.NotFound as exc:
        raise Http404 from exc
    except errors.DomainError as exc:
        notice = str(exc.message)
    if _is_htmx(request):
        return _panel(request, _own_draft(request, draft_id), notice)
    if notice:
        messages.error(request, notice)
    draft = _own_draft(request, draft_id)
    return redirect("campaigns:chat", session_id=draft.session_id)
