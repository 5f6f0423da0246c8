"""The unsubscribe page of the List-Unsubscribe link: a one-click POST (RFC 8058, sent by the
mail client without a session or CSRF token) or a button for people."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from stylevault.core import errors
from stylevault.mail import services
from stylevault.mail.kinds import KINDS


@csrf_exempt  # the token in the URL is the authority (RFC 8058 one-click)
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str, kind: str):
    if kind not in KINDS:
        raise Http404
    done = False
    if request.method == "POST":
        try:
            services.unsubscribe(token=token, kind=kind)
        except errors.DomainError:  # a wrong token, or an essential kind
            raise Http404 from None
        done = True
    return render(request, "mail/unsubscribe.html", {"kind": KINDS[kind], "done": done})


@require_http_methods(["GET"])
def verify(request, token: str):
    try:
        user = services.verify_email(token=token)
    except errors.DomainError as exc:
        return render(request, "mail/verified.html", {"error": exc.message}, status=400)
    return render(request, "mail/verified.html", {"email": user.email})
