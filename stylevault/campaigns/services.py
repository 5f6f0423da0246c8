"""Every write of the campaign studio: brands, sessions, the chat turn, the ad's composition.

A turn writes the copy first (outside any transaction: it may call a language model), then
in one transaction stores the messages and the draft and requests the picture through the
paid generation flow (hold, job, capture, royalties, provenance). If the hold fails the whole
turn rolls back, so a turn that makes no image takes no credits. Copy-only refinements
("shorter", "in English", a layout) reuse the draft's picture and cost nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import re
import secrets
from dataclasses import asdict
from datetime import timedelta
from functools import lru_cache

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from stylevault.campaigns import calendar, selectors, turns
from stylevault.campaigns.models import (
    Brand,
    BusinessType,
    ChatSession,
    Draft,
    DraftStatus,
    Language,
    Layout,
    Message,
    Role,
    Tone,
)
from stylevault.campaigns.providers.copy import (
    Copy,
    CopyInvalid,
    CopyRequest,
    WriterFailed,
    check_copy,
)
from stylevault.campaigns.providers.template_writer import TemplateWriter
from stylevault.core import errors
from stylevault.core.imaging import check_image
from stylevault.generation import policy
from stylevault.generation import services as generation
from stylevault.generation.models import Generation, GenerationStatus
from stylevault.generation.signals import generation_finished
from stylevault.jobs import services as jobs
from stylevault.styles.models import Style, StyleStatus

log = logging.getLogger(__name__)

COMPOSE_JOB = "campaign_compose"
MAX_TEXT = 2000
MAX_LOGO_BYTES = 2 * 1024 * 1024
MAX_LOGO_PIXELS = 4_000_000
NO_TEXT = "no text, no letters, no words, no logo"
NEGATIVE_PROMPT = "text, letters, words, typography, watermark, logo, caption"
# The engine renders the ratios it was trained at; 4:5 ads are cut from a 3:4 picture.
RENDER_RATIO = {"4:5": "3:4"}
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
# The same message again this soon is a double-clicked send: it answers the turn just taken.
REPEAT_WINDOW = timedelta(seconds=10)


def _invalid(field: str, message: str) -> errors.ValidationFailed:
    return errors.ValidationFailed(message, details={"fields": {field: [message]}})


def _choice(value, field: str, choices) -> str:
    if value not in choices.values:
        raise _invalid(field, _("Choose one of: %(list)s.") % {"list": ", ".join(choices.values)})
    return value


def _text(value, field: str, *, limit: int, required: bool = True) -> str:
    if not isinstance(value, str):
        raise _invalid(field, _("This field must be text."))
    value = " ".join(strip_tags(value).split())
    if required and not value:
        raise _invalid(field, _("This field is required."))
    if len(value) > limit:
        raise _invalid(field, _("At most %(n)s characters are allowed here.") % {"n": limit})
    return value


def _colour(value, field: str) -> str:
    if not isinstance(value, str) or not _COLOUR.match(value):
        raise _invalid(field, _("Write a colour as #rrggbb, for example #1f6feb."))
    return value.lower()


def _published_style(style_id) -> Style:
    if isinstance(style_id, bool) or not isinstance(style_id, int):
        raise _invalid("style_id", _("This must be a whole number."))
    style = Style.objects.filter(pk=style_id, status=StyleStatus.PUBLISHED).first()
    if style is None:
        raise errors.NotFound(
            _("No published style has the id %(id)s.") % {"id": style_id},
            details={"style_id": style_id},
        )
    return style


# -- brands --


def logo_colours(data: bytes) -> tuple[str, str]:
    """The logo's two most used colours among its visible, not near-white pixels."""
    with Image.open(io.BytesIO(data)) as image:
        rgba = image.convert("RGBA")
        rgba.thumbnail((96, 96))
    pixels = np.asarray(rgba).reshape(-1, 4)
    visible = pixels[(pixels[:, 3] > 128) & (pixels[:, :3].min(axis=1) < 235)][:, :3]
    if not len(visible):
        return "#1f6feb", "#ffffff"
    sample = Image.fromarray(np.ascontiguousarray(visible[None, :, :]), "RGB")
    palette = sample.quantize(colors=4, method=Image.Quantize.MEDIANCUT)
    counts = sorted(palette.getcolors() or [], reverse=True)
    flat = palette.getpalette() or []
    colours = ["#{:02x}{:02x}{:02x}".format(*flat[i * 3 : i * 3 + 3]) for _count, i in counts]
    return colours[0], colours[1] if len(colours) > 1 else "#ffffff"


def _clean_logo(data: bytes, image_format: str) -> bytes:
    """The logo drawn again from its pixels alone: no EXIF/GPS, XMP or comment, nothing
    appended after the image (polyglots); PNG keeps its transparency."""
    with Image.open(io.BytesIO(data)) as opened:
        picture = ImageOps.exif_transpose(opened)
        mode = "RGBA" if image_format == "PNG" else "RGB"
        picture = picture.convert(mode)
    clean = Image.frombytes(mode, picture.size, picture.tobytes())
    buffer = io.BytesIO()
    clean.save(buffer, format=image_format, **({"quality": 92} if mode == "RGB" else {}))
    return buffer.getvalue()


def _store_logo(owner, upload) -> tuple[str, str, bytes]:
    checked = check_image(upload, max_bytes=MAX_LOGO_BYTES, max_pixels=MAX_LOGO_PIXELS)
    image_format = "PNG" if checked.format == "PNG" else "JPEG"
    data = _clean_logo(checked.data, image_format)
    sha256 = hashlib.sha256(data).hexdigest()
    name = f"private/brands/{owner.pk}/{sha256[:24]}.{'png' if image_format == 'PNG' else 'jpg'}"
    if not default_storage.exists(name):
        default_storage.save(name, ContentFile(data))
    return name, sha256, data


def _brand_fields(owner, data: dict, *, creating: bool) -> dict:
    fields: dict = {}
    if creating or "name" in data:
        fields["name"] = _text(data.get("name"), "name", limit=80)
    for key, choices in (
        ("business_type", BusinessType),
        ("tone", Tone),
        ("language", Language),
    ):
        if data.get(key) is not None:
            fields[key] = _choice(data[key], key, choices)
    for key in ("primary_color", "secondary_color"):
        if data.get(key):
            fields[key] = _colour(data[key], key)
    if "default_style_id" in data:
        style_id = data["default_style_id"]
        fields["default_style"] = None if style_id in (None, "") else _published_style(style_id)
    if data.get("logo") is not None:
        fields["logo_path"], fields["logo_sha256"], logo = _store_logo(owner, data["logo"])
        if data.get("colors_from_logo") or not data.get("primary_color"):
            fields["primary_color"], fields["secondary_color"] = logo_colours(logo)
    return fields


def create_brand(*, owner, data: dict) -> Brand:
    """A brand from API.md's fields (name, business_type, language, primary_color?, logo?),
    plus tone, secondary_color, default_style_id and colors_from_logo."""
    fields = _brand_fields(owner, data, creating=True)
    with transaction.atomic(durable=True):
        return Brand.objects.create(owner=owner, **fields)


def update_brand(*, owner, brand_id: int, data: dict) -> Brand:
    fields = _brand_fields(owner, data, creating=False)
    with transaction.atomic(durable=True):
        brand = Brand.objects.select_for_update().filter(pk=brand_id, owner=owner).first()
        if brand is None:
            raise errors.NotFound(_("No such brand."))
        for key, value in fields.items():
            setattr(brand, key, value)
        brand.save()
        return brand


def delete_brand(*, owner, brand_id: int) -> None:
    with transaction.atomic(durable=True):
        deleted, _rows = Brand.objects.filter(pk=brand_id, owner=owner).delete()
    if not deleted:
        raise errors.NotFound(_("No such brand."))


# -- sessions --


def create_session(*, owner, brand_id) -> ChatSession:
    if isinstance(brand_id, bool) or not isinstance(brand_id, int):
        raise _invalid("brand_id", _("This must be a whole number."))
    with transaction.atomic(durable=True):
        brand = Brand.objects.filter(pk=brand_id, owner=owner).first()
        if brand is None:
            raise errors.NotFound(_("No such brand."))
        return ChatSession.objects.create(owner=owner, brand=brand, title=_("New campaign"))


def rename_session(*, owner, session_id: int, title) -> ChatSession:
    title = _text(title, "title", limit=120)
    with transaction.atomic(durable=True):
        if not ChatSession.objects.filter(pk=session_id, owner=owner).update(
            title=title, updated_at=timezone.now()
        ):
            raise errors.NotFound(_("No such session."))
        return ChatSession.objects.get(pk=session_id)


def delete_session(*, owner, session_id: int) -> None:
    with transaction.atomic(durable=True):
        deleted, _rows = ChatSession.objects.filter(pk=session_id, owner=owner).delete()
    if not deleted:
        raise errors.NotFound(_("No such session."))


# -- copy --


@lru_cache(maxsize=4)
def _llm(url: str, key: str, model: str, timeout: float):
    from stylevault.campaigns.providers.openai_writer import OpenAIWriter, Timeouts

    return OpenAIWriter(base_url=url, api_key=key, model=model, timeouts=Timeouts(read=timeout))


def _policy_ok(copy: Copy) -> bool:
    texts = [copy.headline, copy.body, copy.cta, copy.image_prompt, *copy.hashtags]
    return not set().union(*(policy.verdicts(t) for t in texts))


def write_copy(request: CopyRequest) -> tuple[Copy, str, str]:
    """(copy, writer name, note): the configured language model when it gives valid copy the
    content policy accepts, else the template writer, with a note saying why."""
    note = ""
    url = getattr(settings, "STYLEVAULT_LLM_URL", "")
    if url:
        writer = _llm(
            url,
            settings.STYLEVAULT_LLM_API_KEY,
            settings.STYLEVAULT_LLM_MODEL,
            settings.STYLEVAULT_LLM_TIMEOUT,
        )
        try:
            copy = writer.write(request)
            if _policy_ok(copy):
                return copy, writer.name, ""
            note = _("The language model's copy broke the content policy.")
        except WriterFailed as exc:
            log.warning("campaign copy falls back to the template writer: %s", exc)
            note = _("The language model did not give usable copy.")
        note += " " + _("This copy comes from the built-in writer.")
    copy = TemplateWriter().write(request)
    try:  # the template writer keeps the rules by construction; this proves it each time
        copy = check_copy(asdict(copy), brief=f"{request.brief} {request.brand}")
    except CopyInvalid as exc:  # pragma: no cover - a bug in the phrase tables
        raise errors.DomainError(_("The copy could not be written.")) from exc
    return copy, "template", note


# -- the turn --


def _steps() -> int | None:
    return getattr(settings, "STYLEVAULT_CAMPAIGN_STEPS", None)


def _generation_body(style: Style, copy: Copy, ratio: str, seed: int) -> dict:
    body = {
        "styles": [{"id": style.pk, "weight": 1}],
        "prompt": f"{NO_TEXT}, {copy.image_prompt}"[: generation.MAX_PROMPT_LENGTH],
        "negative_prompt": NEGATIVE_PROMPT,
        "aspect_ratio": RENDER_RATIO.get(ratio, ratio),
        "seed": seed,
    }
    if _steps():
        body["steps"] = _steps()
    return body


def _reply(draft: Draft, reused: bool, note: str) -> str:
    parts = [
        _("Here is a new ad draft: “%(headline)s”.") % {"headline": draft.headline},
        _("I kept the picture and changed the copy.")
        if reused
        else _("The picture is being made in your chosen style."),
    ]
    if note:
        parts.append(note)
    return " ".join(parts)


def post_message(
    *, owner, session_id: int, text, style_id=None, aspect_ratio=None
) -> tuple[Message, Draft]:
    """One chat turn: understand the message, write the copy, request (or reuse) the picture."""
    session = ChatSession.objects.select_related("brand").filter(pk=session_id, owner=owner).first()
    if session is None:
        raise errors.NotFound(_("No such session."))
    text = _text(text, "text", limit=MAX_TEXT)
    if aspect_ratio is not None and aspect_ratio not in turns.AD_RATIOS:
        raise _invalid(
            "aspect_ratio",
            _("Choose one of these aspect ratios: %(list)s.")
            % {"list": ", ".join(turns.AD_RATIOS)},
        )
    policy.check_prompts([text], nsfw_allowed=False)
    brand = session.brand
    turn = turns.parse(text)
    previous = selectors.latest_draft(session)
    if turn.refines_only and previous is None:
        raise _invalid("text", _("Tell me first what you would like to promote."))
    brief = turn.brief or previous.brief
    ratio = aspect_ratio or turn.aspect_ratio or (previous.aspect_ratio if previous else "1:1")
    if style_id is not None:
        style = _published_style(style_id)
    elif previous is not None:
        style = previous.style
    elif brand.default_style_id is not None:
        style = _published_style(brand.default_style_id)
    else:
        raise _invalid("style_id", _("Choose a licensed style for the picture."))
    copy_only = {a.split(":")[0] for a in turn.asks} <= {"layout"}
    request = CopyRequest(
        brand=brand.name,
        business_type=brand.business_type,
        tone=turn.tone or (previous.tone if previous else brand.tone),
        language=turn.language or (previous.language if previous else brand.language),
        brief=brief,
        season=calendar.detect(brief, calendar.SEASON_WORDS)
        or calendar.season_of(timezone.localdate()),
        occasion=calendar.detect(brief, calendar.OCCASION_WORDS) or "general",
        aspect_ratio=ratio,
        variant=(previous.variant + 1) if previous and turn.refines_only and not turn.asks else 0,
        shorter=turn.shorter,
    )
    if previous is not None and turn.refines_only and copy_only and turn.asks:
        copy, writer, note = (
            Copy(
                previous.headline,
                previous.body,
                previous.cta,
                previous.hashtags,
                previous.image_prompt,
            ),
            previous.writer,
            "",
        )
    else:
        copy, writer, note = write_copy(request)
    old_picture = previous.generation if previous is not None else None
    reuse = (
        old_picture is not None
        and turn.refines_only
        and not turn.new_picture
        and ratio == previous.aspect_ratio
        and style.pk == previous.style_id
        and old_picture.status
        in (GenerationStatus.QUEUED, GenerationStatus.RUNNING, GenerationStatus.SUCCEEDED)
    )
    keep_seed = old_picture is not None and turn.refines_only and not turn.new_picture
    seed = old_picture.seed if keep_seed else secrets.randbelow(generation.MAX_SEED)
    with transaction.atomic(durable=True):
        # One turn at a time per session, so a repeat cannot slip past the check below.
        ChatSession.objects.select_for_update().filter(pk=session.pk).first()
        repeated = _repeated_turn(session, text, style, ratio)
        if repeated is not None:
            return repeated
        message = Message.objects.create(session=session, role=Role.USER, text=text)
        picture = (
            old_picture
            if reuse
            else generation.request_generation(
                user=owner, body=_generation_body(style, copy, ratio, seed)
            )
        )
        draft = Draft.objects.create(
            owner=owner,
            session=session,
            brand=brand,
            brief=brief,
            headline=copy.headline,
            body=copy.body,
            cta=copy.cta,
            hashtags=list(copy.hashtags),
            image_prompt=copy.image_prompt,
            aspect_ratio=ratio,
            language=request.language,
            tone=request.tone,
            layout=turn.layout or (previous.layout if previous else Layout.BOTTOM),
            writer=writer,
            variant=request.variant,
            style=style,
            generation=picture,
        )
        draft.message = Message.objects.create(
            session=session, role=Role.ASSISTANT, text=_reply(draft, reuse, note)
        )
        draft.save(update_fields=["message"])
        if picture.status == GenerationStatus.SUCCEEDED:
            _enqueue_compose(draft)
        if previous is None:
            session.title = brief[:120]
        session.save(update_fields=["title", "updated_at"])
    return message, draft


def _repeated_turn(session: ChatSession, text: str, style: Style, ratio: str):
    """(message, draft) of the session's last turn when it asked the very same thing moments
    ago (a double-clicked send), else None: that turn is not paid for twice."""
    last = session.messages.filter(role=Role.USER).order_by("-created_at", "-id").first()
    if last is None or last.text != text or timezone.now() - last.created_at > REPEAT_WINDOW:
        return None
    draft = session.drafts.order_by("-id").first()
    if draft is None or draft.style_id != style.pk or draft.aspect_ratio != ratio:
        return None
    return last, draft


def choose_layout(*, owner, draft_id: int, layout) -> Draft:
    """Lays the same copy and picture out again (no credits): top band, bottom band or card."""
    layout = _choice(layout, "layout", Layout)
    with transaction.atomic(durable=True):
        draft = Draft.objects.select_for_update().filter(pk=draft_id, owner=owner).first()
        if draft is None:
            raise errors.NotFound(_("No such ad draft."))
        if draft.generation is None or draft.generation.status != GenerationStatus.SUCCEEDED:
            raise errors.Conflict(_("The picture of this draft is not ready yet."))
        draft.layout = layout
        draft.save(update_fields=["layout"])
        _enqueue_compose(draft)
    return draft


def _enqueue_compose(draft: Draft) -> None:
    draft.status = DraftStatus.RUNNING
    draft.compose_job = jobs.enqueue(
        kind=COMPOSE_JOB, payload={"draft_id": draft.pk, "layout": draft.layout}, owner=draft.owner
    )
    draft.save(update_fields=["status", "compose_job"])


@receiver(generation_finished, sender=Generation, dispatch_uid="campaigns.picture_ready")
def picture_ready(sender, *, generation: Generation, succeeded: bool, **kwargs) -> None:
    """Inside the generation's outcome transaction: compose the waiting drafts, or fail them."""
    waiting = Draft.objects.select_for_update().filter(
        generation=generation, status__in=(DraftStatus.QUEUED, DraftStatus.RUNNING)
    )
    for draft in waiting:
        if succeeded:
            _enqueue_compose(draft)
        else:
            draft.status = DraftStatus.FAILED
            draft.error_code = generation.error_code or "IMAGE_GENERATION_FAILED"
            draft.error_message = generation.error_message[:2000]
            draft.save(update_fields=["status", "error_code", "error_message"])


def ad_mark(draft_id: int) -> int:
    """The composed ad's watermark payload: keyed, in its own space apart from images'."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"campaign-ad:{draft_id}".encode(), "sha256")
    return int.from_bytes(digest.digest()[:8], "big") >> (64 - generation.MARK_BITS)


def record_ad(*, draft_id: int, result: dict) -> None:
    """The compose job succeeded (in its outcome transaction): the files and the event."""
    from stylevault.campaigns import events
    from stylevault.provenance.services import record

    draft = Draft.objects.select_for_update().get(pk=draft_id)
    draft.ad_path, draft.ad_png_path = result["path"], result["png_path"]
    draft.ad_sha256 = result["sha256"]
    draft.ad_width, draft.ad_height = result["width"], result["height"]
    draft.status = DraftStatus.SUCCEEDED
    draft.error_code = draft.error_message = ""
    draft.save()
    record(
        events.ad_composed(
            draft=draft,
            generation_id=draft.generation_id,
            source_image_id=result["source_image_id"],
            source_sha256=result["source_sha256"],
            output_sha256=result["sha256"],
            png_sha256=result["png_sha256"],
            layout=result["layout"],
            aspect_ratio=draft.aspect_ratio,
            writer=draft.writer,
        ),
    )


def compose_failed(*, draft_id: int, code: str, message: str) -> None:
    Draft.objects.filter(pk=draft_id).update(
        status=DraftStatus.FAILED, error_code=code or "INTERNAL_ERROR", error_message=message[:2000]
    )


def stored_name(draft: Draft, sha256: str, extension: str) -> str:
    return f"private/campaigns/{draft.owner_id}/{draft.pk}/ad-{sha256[:16]}.{extension}"


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
