"""The output safety check of every delivered variant (decision 051): the hook, and no model yet.

`STYLEVAULT_SAFETY_CLASSIFIER` names a callable `module:function` taking a PIL image and
returning a score in [0, 1] that the image is sexual; at or above
`STYLEVAULT_SAFETY_THRESHOLD` a variant is redrawn once, then refunded, unless every style of
the request allows NSFW. Unset, nothing is scored: no permissively licensed classifier whose
weights ship in a wheel was found in time (NudeNet's are AGPL-3.0).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import import_module

from django.conf import settings


@lru_cache(maxsize=2)
def _classifier(dotted: str):
    module, _, name = dotted.partition(":")
    return getattr(import_module(module), name)


def is_unsafe(image) -> bool:
    dotted = settings.STYLEVAULT_SAFETY_CLASSIFIER
    if not dotted:
        return False
    return float(_classifier(dotted)(image)) >= settings.STYLEVAULT_SAFETY_THRESHOLD
