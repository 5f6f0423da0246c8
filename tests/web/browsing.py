"""A test client that behaves like a browser for the pages: CSRF enforced, forms sent with the
token of the page they came from, and every page checked against the CSP (no inline script,
no inline event handler, no inline style)."""

from __future__ import annotations

import re

from django.test import Client

INLINE = [
    re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),  # a script without src
    re.compile(r"\son[a-z]+\s*=", re.I),  # onclick=, onload=, ...
    re.compile(r"\sstyle\s*=", re.I),  # style-src 'self' forbids style attributes
]


class Browser(Client):
    def __init__(self, user=None):
        super().__init__(enforce_csrf_checks=True)
        if user is not None:
            self.force_login(user)

    def page(self, path: str, status: int = 200) -> str:
        """GETs a page, checks its status and that the CSP lets it run; returns its HTML."""
        response = self.get(path)
        assert response.status_code == status, (path, response.status_code)
        return csp_clean(response.content.decode())

    def submit(self, path: str, data: dict | None = None, *, htmx: bool = False, **extra):
        """POSTs a form with the CSRF token a page of the site gave this browser."""
        if "csrftoken" not in self.cookies:
            self.get("/en/verify/")  # any page hands out the token
        token = self.cookies["csrftoken"].value
        if htmx:
            extra.update(HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token)
        return self.post(path, {**(data or {}), "csrfmiddlewaretoken": token}, **extra)


def csp_clean(html: str) -> str:
    for pattern in INLINE:
        assert not pattern.search(html), pattern.search(html).group(0)
    return html
