"""The content policy, applied to every prompt before any credit is held or any work is done.

Two word lists per language: terms refused everywhere, and sexual terms refused unless every
style of the blend allows NSFW. Operators extend the lists with STYLEVAULT_BLOCKED_TERMS and
STYLEVAULT_NSFW_TERMS (comma-separated), and may plug in a classifier: STYLEVAULT_PROMPT_CLASSIFIER
names a callable `classify(text) -> set[str]` returning any of {"blocked", "nsfw"}.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from stylevault.core import errors

BLOCKED_TERMS = {
    # English
    "child porn",
    "cp porn",
    "loli",
    "shota",
    "underage sex",
    "minor nude",
    "beheading",
    "gore porn",
    "snuff",
    # Korean
    "아동 포르노",
    "아동포르노",
    "미성년자 성",
    "로리",
    "쇼타",
    "참수",
}
NSFW_TERMS = {
    # English
    "nude",
    "naked",
    "nsfw",
    "porn",
    "sex",
    "sexual",
    "explicit",
    "topless",
    "genitals",
    "hentai",
    "erotic",
    # Korean
    "누드",
    "나체",
    "알몸",
    "야한",
    "성인물",
    "포르노",
    "섹스",
    "성행위",
    "야동",
    "음란",
}


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\W_]+", " ", text).strip()


def _contains(text: str, terms: set[str]) -> bool:
    """Latin terms match whole words; Hangul terms match inside words (Korean attaches particles)."""
    padded = f" {text} "
    for term in terms:
        term = _normalise(term)
        if not term:
            continue
        if term.isascii():
            if f" {term} " in padded:
                return True
        elif term in text:
            return True
    return False


def _extra(name: str) -> set[str]:
    return {t.strip() for t in getattr(settings, name, "").split(",") if t.strip()}


@lru_cache(maxsize=4)
def _classifier(path: str):
    return import_string(path) if path else None


def verdicts(text: str) -> set[str]:
    """{"blocked"}, {"nsfw"}, both or neither, from the lists and the configured classifier."""
    text = _normalise(text)
    found = set()
    if _contains(text, BLOCKED_TERMS | _extra("STYLEVAULT_BLOCKED_TERMS")):
        found.add("blocked")
    if _contains(text, NSFW_TERMS | _extra("STYLEVAULT_NSFW_TERMS")):
        found.add("nsfw")
    classify = _classifier(getattr(settings, "STYLEVAULT_PROMPT_CLASSIFIER", ""))
    if classify is not None:
        found |= set(classify(text)) & {"blocked", "nsfw"}
    return found


def check_prompts(texts: list[str], *, nsfw_allowed: bool) -> None:
    """Raises CONTENT_POLICY (403) when any text breaks the policy for this blend."""
    found = set().union(*(verdicts(t) for t in texts if t))
    if "blocked" in found:
        raise errors.ContentPolicy(_("This prompt asks for content that is not allowed here."))
    if "nsfw" in found and not nsfw_allowed:
        raise errors.ContentPolicy(
            _("This prompt asks for adult content, which the chosen style does not allow.")
        )
