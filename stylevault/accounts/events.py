"""The provenance events accounts records: one typed builder per kind."""

from __future__ import annotations

from stylevault.accounts.models import ArtistApplication
from stylevault.provenance.models import EventKind
from stylevault.provenance.services import NewEvent


def artist_verified(*, application: ArtistApplication, operator) -> NewEvent:
    """An operator approved the application: the user signs images as this artist."""
    return NewEvent(
        kind=EventKind.ARTIST_VERIFIED,
        subject=application.user,
        actor=operator,
        payload={
            "artist_id": application.user_id,
            "username": application.user.username,
            "signature_sha256": application.signature_sha256,
        },
    )
