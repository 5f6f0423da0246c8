"""Korean particles chosen by the last syllable (받침), so templates read naturally."""

from __future__ import annotations

_PAIRS = {"을": ("을", "를"), "이": ("이", "가"), "은": ("은", "는"), "과": ("과", "와")}


def has_final_consonant(word: str) -> bool:
    """True when the word ends in a Hangul syllable with a final consonant (or a digit/latin
    letter read with one, such as 1, 3, 6, 7, 8, 0, L, M, N)."""
    if not word:
        return False
    last = word[-1]
    if "가" <= last <= "힣":
        return (ord(last) - 0xAC00) % 28 != 0
    return last.lower() in "013678lmn"


def particle(word: str, kind: str) -> str:
    """`word` followed by the right form of 을/를, 이/가, 은/는 or 과/와."""
    with_final, without = _PAIRS[kind]
    return word + (with_final if has_final_consonant(word) else without)
