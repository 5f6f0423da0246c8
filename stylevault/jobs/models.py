"""The Job row: the single source of truth about a unit of background work.

Workers, the reaper and the broker only ever move a job between statuses with guarded
UPDATEs on this row (see services.py); nothing else holds job state.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
TERMINAL_STATUSES = (
    JobStatus.SUCCEEDED,
    JobStatus.FAILED,
    JobStatus.CANCELLED,
    JobStatus.EXPIRED,
)
# Statuses whose owning app must undo what it reserved (the failure hook runs once).
UNSUCCESSFUL_STATUSES = (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.EXPIRED)


class Job(models.Model):
    kind = models.CharField(_("kind"), max_length=64)
    queue = models.CharField(_("queue"), max_length=64)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
    )
    # Higher runs first (the owner's tier). Brokers get it clamped to 0..9.
    priority = models.IntegerField(_("priority"), default=0)
    # Virtual start time for per-owner fair queuing within (queue, priority); see services.
    fair_tag = models.BigIntegerField(default=0, editable=False)
    # At most this many running jobs of this kind per owner (from the owner's tier).
    max_running = models.PositiveIntegerField(_("max running per owner"), null=True, blank=True)

    status = models.CharField(
        _("status"), max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    max_attempts = models.PositiveIntegerField(_("max attempts"), default=3)
    lease_seconds = models.PositiveIntegerField(_("lease (seconds)"), default=60)
    worker = models.CharField(_("worker"), max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(_("lease expires at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    run_after = models.DateTimeField(_("not before"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    cancel_requested = models.BooleanField(_("cancel requested"), default=False)
    # Each attempt may run this long before it fails with TIME_LIMIT (worker and reaper).
    time_limit_seconds = models.PositiveIntegerField(
        _("time limit (seconds)"), null=True, blank=True
    )

    progress = models.JSONField(_("progress"), default=dict, blank=True)
    result = models.JSONField(_("result"), null=True, blank=True)
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)

    created_at = models.DateTimeField(_("created"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        indexes = [
            # The claim: the head of a queue in (priority desc, fair tag, id) order.
            models.Index(
                fields=["queue", "-priority", "fair_tag", "id"],
                condition=Q(status="queued"),
                name="jobs_claim_idx",
            ),
            # The reaper: running jobs whose lease ran out.
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(status="running"),
                name="jobs_lease_idx",
            ),
            # The reaper: queued jobs past their deadline.
            models.Index(
                fields=["expires_at"],
                condition=Q(status="queued"),
                name="jobs_expiry_idx",
            ),
            # Per-owner limit on running jobs, checked inside the claim.
            models.Index(
                fields=["owner", "kind"],
                condition=Q(status="running"),
                name="jobs_owner_running_idx",
            ),
            # The owner's latest fair tag, read at enqueue.
            models.Index(
                fields=["owner", "queue", "priority", "fair_tag"],
                condition=Q(status__in=["queued", "running"]),
                name="jobs_owner_tag_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL_STATUSES
