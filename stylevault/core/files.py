"""Serving stored files through views that have already decided who may read them.

Nothing in storage has a public URL (MEDIA_URL is never routed); a view checks the viewer, then
streams the file with this helper.
"""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse

from stylevault.core import errors


def stored_file_response(
    path: str, *, content_type: str, public: bool, download_name: str | None = None
) -> FileResponse:
    """Streams `path` from storage. Public files may be cached by browsers and proxies;
    private ones only by the viewer's browser."""
    try:
        handle = default_storage.open(path, "rb")
    except (FileNotFoundError, OSError) as exc:
        raise errors.NotFound() from exc
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "public, max-age=86400" if public else "private, max-age=3600"
    response["Content-Disposition"] = (
        f'inline; filename="{download_name}"' if download_name else "inline"
    )
    return response
