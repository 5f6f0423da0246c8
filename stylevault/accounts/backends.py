"""Authentication backends: log-in limits for every door; operators' permissions."""

from __future__ import annotations

from stylevault.accounts.models import Role


class LoginLimitBackend:
    """First in AUTHENTICATION_BACKENDS: every password log-in of an HTTP request (the API,
    the log-in page, the operator console, allauth's pages) is counted here before any backend
    checks it, and answered RATE_LIMITED beyond the limits (accounts.services). It never
    authenticates anyone itself."""

    def authenticate(self, request, username=None, password=None, **credentials):
        if request is not None and password is not None:
            from stylevault.accounts.services import count_login_attempt
            from stylevault.core.ratelimit import client_ip

            name = username or credentials.get("email") or ""
            count_login_attempt(ip=client_ip(request), username=name)
        return None  # no get_user either: sessions never name this backend


class OperatorPermissionsBackend:
    def authenticate(self, request, **credentials):
        return None  # permissions only; never authenticates anyone

    def has_perm(self, user, perm, obj=None) -> bool:
        return bool(user.is_active and getattr(user, "role", None) == Role.OPERATOR)

    def has_module_perms(self, user, app_label) -> bool:
        return self.has_perm(user, f"{app_label}.*")
