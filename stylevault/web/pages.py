"""Helpers shared by every app's page views."""

from __future__ import annotations

from django import forms

from stylevault.core import errors


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
