"""Account writes: sign-up, tokens, languages, artist applications and role changes."""

from __future__ import annotations

import functools
import hashlib
import io
import re
import secrets
import unicodedata
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image

from stylevault.accounts import events, selectors
from stylevault.accounts.models import (
    ApiToken,
    ApplicationStatus,
    ArtistApplication,
    Role,
    User,
)
from stylevault.core import errors, imaging, ratelimit
from stylevault.mail import services as mail
from stylevault.provenance.services import record

TOKEN_PREFIX = "svt_"  # noqa: S105  (a public marker, not a secret)
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,30}$")
SIGNATURE_MAX_BYTES = 2 * 1024 * 1024
# A signature is a small picture; this also keeps a long thin strip from costing gigabytes
# when it is scaled onto an image.
SIGNATURE_MAX_PIXELS = 4_000_000
MAX_TOKENS_PER_USER = 50
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)


def hash_token(raw: str) -> str:
    """Tokens carry 256 random bits, so a plain SHA-256 is a safe and fast lookup key."""
    return hashlib.sha256(raw.encode()).hexdigest()


_field_error = errors.field_error


def _check_password(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise errors.ValidationFailed(
            exc.messages[0], details={"fields": {"password": list(exc.messages)}}
        ) from None


# Characters that read alike in a username, each group matched by one pattern: a name is
# refused when an existing one differs from it only within these groups (or by case).
_LOOKALIKES = (("rn", "m"), ("vv", "w"), ("0", "o"), ("1", "l"), ("i", "l"), ("5", "s"))
_SEPARATORS = "._-"
_PATTERNS = {"m": "(m|rn)", "w": "(w|vv)", "o": "[o0]", "l": "[l1i]", "s": "[s5]", "-": "[._-]"}


def _skeleton(name: str) -> str:
    skeleton = name.lower()
    for seen, meant in _LOOKALIKES:
        skeleton = skeleton.replace(seen, meant)
    return "".join("-" if c in _SEPARATORS else c for c in skeleton)


def _lookalike_pattern(name: str) -> str:
    """A case-insensitive regular expression of every username that looks like `name`."""
    return "^" + "".join(_PATTERNS.get(c, re.escape(c)) for c in _skeleton(name)) + "$"


def clean_username(username: str) -> str:
    """The username as it is kept: NFKC-normalised (full-width letters become ASCII), 3 to 30
    ASCII letters, digits, dots, dashes or underscores (so no Cyrillic look-alikes), and not
    confusable with an existing name ("dem0-artist" when "demo_artist" exists). Every sign-up
    door (API, pages, allauth) comes through here."""
    name = unicodedata.normalize("NFKC", username).strip()
    if not USERNAME_RE.match(name):
        raise _field_error(
            "username", _("Use 3 to 30 letters, digits, dots, dashes or underscores.")
        )
    if User.objects.filter(username__iregex=_lookalike_pattern(name)).exists():
        raise errors.Conflict(
            _("This username is taken."), details={"fields": {"username": ["taken"]}}
        )
    return name


@transaction.atomic
def sign_up(*, username: str, password: str, email: str = "", locale: str = "en") -> User:
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise _field_error("email", _("Enter a valid e-mail address.")) from None
    username = clean_username(username)
    user = User(username=username, email=email, locale=locale)
    _check_password(password, user)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise errors.Conflict(_("This username is taken.")) from None
    mail.queue_verification(user=user)
    return user


def count_login_attempt(*, ip: str, username: str) -> None:
    """Counts a password log-in, per client address and per account (so neither many
    addresses nor many accounts get more guesses); RATE_LIMITED beyond either limit."""
    ratelimit.enforce("login", f"ip:{ip}", settings.RATE_LOGIN)
    account = _skeleton(unicodedata.normalize("NFKC", username or "").strip())
    ratelimit.enforce("login-account", f"name:{account}", settings.RATE_LOGIN_ACCOUNT)


@transaction.atomic
def create_token(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Returns the token row and the raw token, which is never stored nor shown again."""
    name = name.strip()
    if not name or len(name) > 100:
        raise _field_error("name", _("Give the token a name of 1 to 100 characters."))
    if ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() >= MAX_TOKENS_PER_USER:
        raise errors.Conflict(_("You have too many active tokens; revoke one first."))
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=raw[:12], token_hash=hash_token(raw)
    )
    return token, raw


@transaction.atomic
def revoke_token(*, user: User, token_id: int) -> ApiToken:
    token = ApiToken.objects.select_for_update().filter(pk=token_id, user=user).first()
    if token is None:
        raise errors.NotFound(_("No such token."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def touch_token(token: ApiToken) -> None:
    """Records use at most every few minutes, so authentication stays a read."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        selectors.TOKENS.forget(token.token_hash)  # re-read, or every request would touch


def set_locale(*, user: User, locale: str) -> User:

    if locale not in dict(settings.LANGUAGES):
        raise _field_error("locale", _("Choose English (en) or Korean (ko)."))
    user.locale = locale
    user.save(update_fields=["locale"])
    return user


def _checked_signature(signature) -> imaging.CheckedImage:
    if signature is None:
        raise _field_error("signature", _("Attach an image of your signature."))
    return imaging.check_image(
        signature,
        max_bytes=SIGNATURE_MAX_BYTES,
        formats=("PNG", "JPEG", "WEBP"),
        min_side=32,
        max_pixels=SIGNATURE_MAX_PIXELS,
    )


def signature_preview(*, signature) -> bytes:
    """A sample picture (PNG) with `signature` placed exactly as on every delivered image, so an
    artist sees the placement before applying. Checks the file as an application does; stores
    nothing."""
    # The engine (NumPy/OpenCV, torch behind its lazy names) loads on first use, not at web start.
    from stylevault.engine.signature import place_signature

    checked = _checked_signature(signature)
    with Image.open(io.BytesIO(checked.data)) as mark:
        mark.load()
        placed = place_signature(_preview_canvas(), mark)
    buffer = io.BytesIO()
    placed.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


@functools.cache
def _preview_canvas() -> Image.Image:
    # The engine (NumPy/OpenCV, torch behind its lazy names) loads on first use, not at web start.
    from stylevault.engine.demo_art import demo_artworks

    return demo_artworks(count=1, size=512)[0][0]


@transaction.atomic
def apply_for_artist(*, user: User, contact_email: str, signature) -> ArtistApplication:
    """An artist application: contact e-mail and a signature image checked by its bytes."""
    try:
        validate_email(contact_email or "")
    except ValidationError:
        raise _field_error("email", _("Enter a valid e-mail address.")) from None
    checked = _checked_signature(signature)
    if user.role != Role.USER:
        raise errors.Conflict(_("Your account is already an artist or operator account."))
    if ArtistApplication.objects.filter(user=user, status=ApplicationStatus.PENDING).exists():
        raise errors.Conflict(_("You already have an application waiting for review."))
    application = ArtistApplication(
        user=user, contact_email=contact_email, signature_sha256=checked.sha256
    )
    extension = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}[checked.format]
    application.signature.save(
        f"{checked.sha256[:16]}.{extension}", ContentFile(checked.data), save=False
    )
    try:
        with transaction.atomic():
            application.save()
    except IntegrityError:
        raise errors.Conflict(_("You already have an application waiting for review.")) from None
    return application


@transaction.atomic
def decide_application(
    *, operator: User, application_id: int, approve: bool, reason: str = ""
) -> ArtistApplication:
    """Approving makes the applicant an artist; rejecting needs a reason they can read."""
    if not operator.is_operator:
        raise errors.Forbidden()
    application = ArtistApplication.objects.select_for_update().filter(pk=application_id).first()
    if application is None:
        raise errors.NotFound(_("No such application."))
    if application.status != ApplicationStatus.PENDING:
        raise errors.Conflict(_("This application was already decided."))
    if not approve and not reason.strip():
        raise _field_error("reason", _("Tell the applicant why the application was rejected."))
    application.status = ApplicationStatus.APPROVED if approve else ApplicationStatus.REJECTED
    application.reason = reason.strip()
    application.decided_at = timezone.now()
    application.decided_by = operator
    application.save(update_fields=["status", "reason", "decided_at", "decided_by"])
    if approve:
        set_role(user=application.user, role=Role.ARTIST)
        record(events.artist_verified(application=application, operator=operator))
    return application


def set_role(*, user: User, role: str) -> User:
    """Operators get the console (is_staff); other roles do not."""
    user.role = role
    user.is_staff = role == Role.OPERATOR or user.is_superuser
    user.save(update_fields=["role", "is_staff"])
    return user


@transaction.atomic
def create_user(
    *, username: str, password: str, artist: bool = False, operator: bool = False
) -> User:
    """A ready account for operators and tests (`stylevault createuser`)."""
    user = sign_up(username=username, password=password)
    if operator:
        set_role(user=user, role=Role.OPERATOR)
    elif artist:
        set_role(user=user, role=Role.ARTIST)
    return user
