"""What a copy writer is given and must return, the JSON schema of its answer, and the checks
every answer passes whoever wrote it (shape, lengths, no invented numbers)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Protocol

import jsonschema

MAX_HASHTAGS = 5
LIMITS = {"headline": 60, "body": 240, "cta": 40, "hashtag": 40, "image_prompt": 400}

COPY_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["headline", "body", "cta", "hashtags", "image_prompt"],
    "properties": {
        "headline": {"type": "string", "minLength": 1, "maxLength": LIMITS["headline"]},
        "body": {"type": "string", "minLength": 1, "maxLength": LIMITS["body"]},
        "cta": {"type": "string", "minLength": 1, "maxLength": LIMITS["cta"]},
        "hashtags": {
            "type": "array",
            "maxItems": MAX_HASHTAGS,
            "items": {"type": "string", "pattern": r"^#\S+$", "maxLength": LIMITS["hashtag"]},
        },
        "image_prompt": {"type": "string", "minLength": 1, "maxLength": LIMITS["image_prompt"]},
    },
}


@dataclass(frozen=True)
class CopyRequest:
    """A turn's brief with the brand around it. `brief` is the promotion in the owner's words."""

    brand: str
    business_type: str
    tone: str
    language: str
    brief: str
    season: str
    occasion: str
    aspect_ratio: str
    variant: int = 0
    shorter: bool = False

    def as_prompt(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Copy:
    headline: str
    body: str
    cta: str
    hashtags: list[str] = field(default_factory=list)
    image_prompt: str = ""


class CopyInvalid(ValueError):
    """An answer that breaks the schema or the rules; `problems` say what, for a repair."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


class WriterFailed(Exception):
    """The writer could not produce valid copy (timeout, refusal, broken answers)."""


class Writer(Protocol):
    name: str

    def write(self, request: CopyRequest) -> Copy: ...


# A digit run with its separators: "5,000", "20", "3.5" (what a price, a date or a share uses).
_NUMBER = re.compile(r"\d+(?:[.,:/]\d+)*")


def numbers_in(text: str) -> set[str]:
    return {m.replace(",", "") for m in _NUMBER.findall(text)}


def check_copy(data: object, *, brief: str) -> Copy:
    """The answer as Copy, or CopyInvalid listing every problem (schema first, then facts)."""
    validator = jsonschema.Draft202012Validator(COPY_SCHEMA)
    problems = [
        f"{'/'.join(str(p) for p in error.absolute_path) or 'answer'}: {error.message}"
        for error in validator.iter_errors(data)
    ]
    if problems:
        raise CopyInvalid(problems)
    copy = Copy(**data)
    known = numbers_in(brief)
    for name in ("headline", "body", "cta"):
        invented = sorted(numbers_in(getattr(copy, name)) - known)
        if invented:
            problems.append(
                f"{name}: the numbers {', '.join(invented)} are not in the brief; "
                "use only numbers, prices and dates the brief gives"
            )
    if problems:
        raise CopyInvalid(problems)
    return copy
