"""User-written text as it is stored: no control or bidirectional-override characters (a
right-to-left override makes "gpj.exe" read "exe.jpg"), and no HTML tags where asked."""

from __future__ import annotations

import re

from django.utils.html import strip_tags

# C0/C1 controls but tab and newline; zero-width and bidi marks, embeddings, overrides and
# isolates; the byte-order mark.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


def clean_text(value: str, *, tags: bool = True) -> str:
    """`value` without invisible control characters (and without HTML tags unless `tags` is
    False), stripped of outer spaces."""
    return _INVISIBLE.sub("", strip_tags(value) if tags else value).strip()
