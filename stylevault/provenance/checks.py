"""Deployment check: production signs tree heads with a key every process shares."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from stylevault.provenance import keys


@checks.register(checks.Tags.security, deploy=True)
def signing_key_configured(app_configs=None, **kwargs):

    if not getattr(settings, "PRODUCTION", False):
        return []
    if not keys.configured():
        return [
            checks.Error(
                f"No provenance signing key: set {keys.ENV_VAR} or place the key at "
                f"{keys.key_path()}.",
                id="provenance.E001",
            )
        ]
    try:
        keys.signing_key()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="provenance.E002")]
    return []
