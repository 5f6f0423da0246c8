"""Operators hold every permission in the console; nobody else holds any by role."""

from __future__ import annotations

from stylevault.accounts.models import Role


class OperatorPermissionsBackend:
    def authenticate(self, request, **credentials):
        return None  # permissions only; never authenticates anyone

    def has_perm(self, user, perm, obj=None) -> bool:
        return bool(user.is_active and getattr(user, "role", None) == Role.OPERATOR)

    def has_module_perms(self, user, app_label) -> bool:
        return self.has_perm(user, f"{app_label}.*")
