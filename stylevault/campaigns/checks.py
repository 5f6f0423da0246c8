"""Start-up check: the compositor needs a Korean-capable font and Pillow's raqm layout."""

from __future__ import annotations

from django.core import checks


@checks.register()
def korean_font_installed(app_configs=None, **kwargs):
    from stylevault.campaigns import layout

    found = []
    try:
        layout.font_files()
    except layout.FontMissing as exc:
        found.append(checks.Error(str(exc), id="campaigns.E001"))
    if not layout.raqm_available():
        found.append(
            checks.Warning(
                "Pillow has no raqm layout (libraqm): Korean ads are set with the basic "
                "layout. Install libraqm0 (make setup does).",
                id="campaigns.W001",
            )
        )
    return found
