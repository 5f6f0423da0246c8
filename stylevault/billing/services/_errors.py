"""The field error every billing service raises for a wrong input."""

from __future__ import annotations

from stylevault.core import errors


def field_error(name: str, message: str) -> errors.ValidationFailed:
    return errors.ValidationFailed(message, details={"fields": {name: [message]}})
