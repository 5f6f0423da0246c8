"""Helpers shared by every app's page views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django import forms
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404, HttpRequest

from stylevault.core import errors


def is_htmx(request: HttpRequest) -> bool:
    """Whether htmx sent the request (it then wants a fragment, not the whole page)."""
    return request.headers.get("HX-Request") == "true"


def viewer(request: HttpRequest):
    """The signed-in user, or None for an anonymous visitor."""
    return request.user if request.user.is_authenticated else None


def domain_errors_as_http(view: Callable) -> Callable:
    """A page answers a service's NOT_FOUND, FORBIDDEN and VALIDATION_ERROR (a bad cursor in
    the address) with the site's 404, 403 and 400 pages."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except errors.NotFound as exc:
            raise Http404(exc.message) from exc
        except errors.Forbidden as exc:
            raise PermissionDenied(exc.message) from exc
        except errors.ValidationFailed as exc:
            raise BadRequest(exc.message) from exc

    return wrapped


def apply_service_error(form: forms.Form, exc: errors.DomainError) -> None:
    """Shows a service's error on the form: on its field when the service named one."""
    fields = exc.details.get("fields") if isinstance(exc.details, dict) else None
    if isinstance(fields, dict):
        for name, messages in fields.items():
            target = name if name in form.fields else None
            for message in messages if isinstance(messages, list) else [messages]:
                form.add_error(target, exc.message if message in {"taken"} else message)
        return
    form.add_error(None, exc.message)
