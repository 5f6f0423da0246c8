"""Pages of the foundation: home, sign-up, log-in, my page, artist application; error pages."""

from __future__ import annotations

import base64

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, translate_url
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from stylevault.accounts import selectors, services
from stylevault.core import api, errors
from stylevault.core.pages import apply_service_error
from stylevault.web import forms

HOME_IMAGES = 8


def home(request):
    """The pitch, then the demo styles' samples and the latest public images."""
    from stylevault.community import selectors as community
    from stylevault.styles import demo
    from stylevault.styles import selectors as styles

    latest = community.feed(limit=HOME_IMAGES)
    context = {
        "styles": styles.showcase_styles(demo.ARTIST),
        "page": latest,
        "liked": community.liked_ids(request.user, [image.pk for image in latest.items]),
    }
    return render(request, "web/home.html", context)


@require_http_methods(["GET", "POST"])
def signup(request):
    form = forms.SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.sign_up(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                email=form.cleaned_data["email"],
                locale=translation.get_language(),
            )
        except errors.DomainError as exc:
            apply_service_error(form, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome to StyleVault, %s!") % user.username)
            return redirect("web:me")
    return render(request, "web/signup.html", {"form": form}, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def login_page(request):
    form = forms.LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = authenticate(
                request,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
            )
        except errors.RateLimited as exc:  # accounts.backends.LoginLimitBackend
            context = {"form": form, "retry_after": exc.retry_after}
            response = render(request, "web/login.html", context, status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
        if user is not None:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(_safe_next(request) or "web:me")
        form.add_error(None, _("Wrong username or password."))
    google = settings.GOOGLE_SIGNIN_ENABLED
    return render(request, "web/login.html", {"form": form, "google": google})


def _safe_next(request) -> str | None:

    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, request.is_secure()
    ):
        return target
    return None


@require_POST
def logout_page(request):
    logout(request)
    return redirect("web:home")


@login_required
@require_http_methods(["GET", "POST"])
def me(request):
    token_form = forms.TokenForm(prefix="token")
    locale_form = forms.LocaleForm(prefix="locale", initial={"locale": request.user.locale})
    new_token = None
    if request.method == "POST" and "token-name" in request.POST:
        token_form = forms.TokenForm(request.POST, prefix="token")
        if token_form.is_valid():
            try:
                _row, new_token = services.create_token(
                    user=request.user, name=token_form.cleaned_data["name"]
                )
                token_form = forms.TokenForm(prefix="token")
            except errors.DomainError as exc:
                apply_service_error(token_form, exc)
    context = {
        "tokens": selectors.tokens_of(request.user),
        "token_form": token_form,
        "locale_form": locale_form,
        "new_token": new_token,
        "applications": selectors.applications_of(request.user)[:5],
    }
    return render(request, "web/me.html", context)


@login_required
@require_POST
def revoke_token(request, token_id: int):
    try:
        services.revoke_token(user=request.user, token_id=token_id)
        messages.success(request, _("The token was revoked."))
    except errors.DomainError as exc:
        messages.error(request, exc.message)
    return redirect("web:me")


@login_required
@require_POST
def set_locale(request):
    form = forms.LocaleForm(request.POST, prefix="locale")
    if not form.is_valid():
        messages.error(request, _("Choose English or Korean."))
        return redirect("web:me")
    locale = form.cleaned_data["locale"]
    services.set_locale(user=request.user, locale=locale)
    translation.activate(locale)
    response = redirect(translate_url(request.build_absolute_uri(_me_path()), locale))
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, locale, samesite="Lax")
    return response


def _me_path() -> str:

    return reverse("web:me")


@login_required
@require_http_methods(["GET", "POST"])
def artist_application(request):
    form = forms.ArtistApplicationForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.apply_for_artist(
                user=request.user,
                contact_email=form.cleaned_data["email"],
                signature=form.cleaned_data["signature"],
            )
        except errors.DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Thank you! An operator will review your application."))
            return redirect("web:me")
    status = 400 if form.errors else 200
    return render(request, "web/artist_application.html", {"form": form}, status=status)


@login_required
@require_POST
def signature_preview(request):
    """htmx fragment: the chosen signature on a sample picture, or why the file is refused."""
    try:
        png = services.signature_preview(signature=request.FILES.get("signature"))
    except errors.DomainError as exc:
        return render(request, "web/_signature_preview.html", {"error": exc.message})
    # The engine (NumPy/OpenCV, torch behind its lazy names) loads on first use, not at web start.
    from stylevault.engine.signature import SIGNATURE_RULE

    picture = "data:image/png;base64," + base64.b64encode(png).decode()
    rule = {key: round(SIGNATURE_RULE[key] * 100) for key in ("width", "opacity")}
    return render(request, "web/_signature_preview.html", {"picture": picture, "rule": rule})


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    if _is_api(request):
        return api.error_response("NOT_FOUND", 404, _("Not found."))
    return render(request, "web/error.html", {"title": _("Page not found")}, status=404)


def server_error(request):
    if _is_api(request):
        return api.error_response(
            "INTERNAL_ERROR", 500, _("Something went wrong on our side. Please try again.")
        )
    return render(request, "web/error.html", {"title": _("Something went wrong")}, status=500)


def bad_request(request, exception=None):
    known = errors.for_request_limit(exception) if exception is not None else None
    if known is not None:
        return error_page(request, known)
    if _is_api(request):
        return api.error_response("VALIDATION_ERROR", 400, _("The request could not be read."))
    return render(request, "web/error.html", {"title": _("Bad request")}, status=400)


def error_page(request, exc: errors.DomainError) -> HttpResponse:
    """A domain error no view handled: the envelope for the API, the error page otherwise,
    with the documented status (and Retry-After when rate-limited)."""
    if _is_api(request):
        response = api.error_response(exc.code, exc.status, exc.message, exc.details)
    else:
        response = render(request, "web/error.html", {"title": exc.message}, status=exc.status)
    if isinstance(exc, errors.RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


def permission_denied(request, exception=None):
    if _is_api(request):
        return api.error_response("FORBIDDEN", 403, _("You are not allowed to do this."))
    return render(request, "web/error.html", {"title": _("Not allowed")}, status=403)


def csrf_failure(request, reason=""):
    if _is_api(request):
        return api.error_response(
            "FORBIDDEN", 403, _("Missing or wrong CSRF token: reload the page and try again.")
        )
    return render(
        request,
        "web/error.html",
        {"title": _("Your form expired. Reload the page and try again.")},
        status=403,
    )


def favicon(request):
    return HttpResponse(status=204)
