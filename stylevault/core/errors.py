"""Domain errors raised by services; the API turns each into API.md's error envelope.

Messages are lazy translations, so they are rendered in the language of the request.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    code = "INTERNAL_ERROR"
    status = 500
    default_message = _("Something went wrong on our side. Please try again.")

    def __init__(self, message: Any = None, *, details: dict | None = None):
        self.message = message if message is not None else self.default_message
        self.details = details or {}
        super().__init__(str(self.message))


class ValidationFailed(DomainError):
    code, status = "VALIDATION_ERROR", 400
    default_message = _("Some fields are missing or wrong.")


def field_error(field: str, message: str, **details) -> ValidationFailed:
    """A VALIDATION_ERROR about one field, for the API's `details.fields` and the pages' forms."""
    return ValidationFailed(message, details={"fields": {field: [message]}, **details})


class Unauthorized(DomainError):
    code, status = "UNAUTHORIZED", 401
    default_message = _("Please sign in first.")


class InsufficientCredits(DomainError):
    code, status = "INSUFFICIENT_CREDITS", 402
    default_message = _("You do not have enough credits for this.")


class PaymentRequired(DomainError):
    code, status = "PAYMENT_REQUIRED", 402
    default_message = _(
        "A payment of yours was refunded or disputed after its credits were spent. "
        "Buy credits to settle the debt, or contact support."
    )


class Forbidden(DomainError):
    code, status = "FORBIDDEN", 403
    default_message = _("You are not allowed to do this.")


class LicenseRequired(DomainError):
    code, status = "LICENSE_REQUIRED", 403
    default_message = _("A licence is required for this style.")


class ContentPolicy(DomainError):
    code, status = "CONTENT_POLICY", 403
    default_message = _("This request breaks the content policy.")


class NotFound(DomainError):
    code, status = "NOT_FOUND", 404
    default_message = _("Not found.")


class Conflict(DomainError):
    code, status = "CONFLICT", 409
    default_message = _("This conflicts with the current state.")


class FileTooLarge(DomainError):
    code, status = "FILE_TOO_LARGE", 413
    default_message = _("The file is too large.")


class UnsupportedMediaType(DomainError):
    code, status = "UNSUPPORTED_MEDIA_TYPE", 415
    default_message = _("This file type is not supported.")


class RateLimited(DomainError):
    code, status = "RATE_LIMITED", 429
    default_message = _("Too many requests. Please wait a moment.")

    def __init__(self, retry_after: int, message: Any = None):
        self.retry_after = retry_after
        super().__init__(message, details={"retry_after": retry_after})


def for_request_limit(exc: BaseException) -> DomainError | None:
    """The documented error for a request Django refused to read (too large, too many fields
    or files) or nested too deeply to parse; None for any other exception."""
    from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent

    if isinstance(exc, RequestDataTooBig):
        return FileTooLarge(_("The request is too large."))
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return ValidationFailed(_("The request has too many fields or files."))
    if isinstance(exc, RecursionError):
        return ValidationFailed(_("The request is nested too deeply."))
    return None
