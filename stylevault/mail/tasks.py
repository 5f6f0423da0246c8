"""The e-mail sending job: retried with backoff while the SMTP server refuses or is away."""

from __future__ import annotations

import smtplib

from stylevault.jobs.registry import TransientError, handler
from stylevault.mail import services


@handler(services.SEND_JOB, queue="mail", max_attempts=8, backoff_seconds=30, lease_seconds=60)
def send(ctx) -> dict:
    try:
        return {"status": services.deliver(outbox_id=int(ctx.job.payload["outbox_id"]))}
    except (smtplib.SMTPException, OSError) as exc:  # the row stays queued for the retry
        raise TransientError(f"SMTP: {exc}") from exc
