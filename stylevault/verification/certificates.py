"""An image's licence certificate: who made the style, under which licence the buyer holds it,
the chain of logged events back to the declared training works, and the Merkle inclusion proof
of the image's own event against a signed tree head.
"""

from __future__ import annotations

from stylevault.accounts.models import User
from stylevault.generation.models import Generation, GenerationStyle, Image
from stylevault.provenance import selectors, services
from stylevault.provenance.manifests import certificate_path, license_text
from stylevault.provenance.models import Event
from stylevault.styles.models import Style


def _event_payload(event: Event) -> dict:
    return {
        "seq": event.seq,
        "kind": event.kind,
        "subject": f"{event.subject_type}:{event.subject_id}",
        "payload": event.payload,
        "leaf_hash": event.leaf_hash,
        "created_at": event.created_at,
    }


def event_chain(image: Image) -> list[Event]:
    """The image's events, its generation's, and each blended style's and artist's, oldest first."""
    blend = list(GenerationStyle.objects.filter(generation_id=image.generation_id))
    subjects = [(Image, [image.pk]), (Generation, [image.generation_id])]
    subjects.append((Style, [b.style_id for b in blend]))
    subjects.append((User, [b.artist_id for b in blend]))
    events: dict[int, Event] = {}
    for model, ids in subjects:
        label = model._meta.label_lower
        for event in Event.objects.filter(subject_type=label, subject_id__in=[str(i) for i in ids]):
            events[event.seq] = event
    return [events[seq] for seq in sorted(events)]


def certificate(image: Image) -> dict:
    chain = event_chain(image)
    own = next(
        (e for e in chain if e.kind == "image_generated" and e.subject_id == str(image.pk)), None
    )
    proof = None
    if own is not None:
        head = services.sign_tree_head()
        proof = selectors.inclusion_proof(seq=own.seq, tree_size=head.tree_size)
    return {
        "image_id": image.pk,
        "generation_id": image.generation_id,
        "sha256": image.sha256,
        "style": {"id": image.style_id, "name": image.style.name},
        "artist": {"id": image.artist_id, "username": image.artist.username},
        "license": license_text(image.owner.username),
        "created_at": image.created_at,
        "certificate_url": certificate_path(image.mark),
        "events": [_event_payload(e) for e in chain],
        "proof": proof,
    }
