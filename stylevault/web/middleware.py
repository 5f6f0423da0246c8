"""Errors a page view did not handle, answered with their documented status, not a 500."""

from __future__ import annotations

from stylevault.core import errors
from stylevault.web.views import error_page


class DomainErrorMiddleware:
    """A service's DomainError (a bad cursor, a rate limit) or a request Django refuses to read
    (too many fields, files, too deep) raised in a view: the error page or the API's envelope."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        known = errors.for_request_limit(exception) or exception
        if isinstance(known, errors.DomainError):
            return error_page(request, known)
        return None
