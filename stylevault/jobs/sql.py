"""The two statements on the hot path, written per database: the claim and the lease renewal.

Times in these statements come from the database clock, never from the worker's, so
workers on several hosts agree on when a lease ran out. On SQLite the text format matches
what Django stores ("YYYY-MM-DD HH:MM:SS.fff", UTC), so comparisons stay correct.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.backends.base.base import BaseDatabaseWrapper

from stylevault.jobs.models import Job

TABLE = Job._meta.db_table


@dataclass(frozen=True)
class Dialect:
    now: str
    seconds_later: str  # format with {seconds}: an SQL expression of a number of seconds
    lock: str  # row lock taken by the claim's inner SELECT
    json_param: str
    batch_key: str  # the payload's "batch_key" as text
    # SQLite takes a write lock for any UPDATE, so a cheap read first spares idle workers it.
    probe_before_claim: bool
    # format with {time} and {seconds}: SQL of a timestamp column and of a number of seconds
    time_plus: str
    # Taken after a claim of a job with a per-owner limit, then the owner's running jobs are
    # counted again (services.claim). '' where writers are serialised anyway (SQLite).
    owner_lock: str = ""

    def later(self, seconds_sql: str) -> str:
        return self.seconds_later.format(seconds=seconds_sql)

    def in_list(self, column: str, count: int) -> str:
        return f"{column} IN ({', '.join(['%s'] * count)})"

    def claim(self, *, queues: int, kinds: int) -> str:
        """One conditional UPDATE: the best claimable job becomes ours, or nothing happens.

        Order: priority (tier) first, then the fair tag (per-owner round-robin), then age.
        A job whose owner already runs `max_running` jobs of its kind is passed over.
        """
        now = self.now
        return f"""
            UPDATE {TABLE} SET
                status = 'running',
                attempts = attempts + 1,
                worker = %s,
                started_at = {now},
                heartbeat_at = {now},
                lease_expires_at = {self.later("lease_seconds")}
            WHERE id = (
                SELECT j.id FROM {TABLE} j
                WHERE j.status = 'queued'
                  AND {self.in_list("j.queue", queues)}
                  AND {self.in_list("j.kind", kinds)}
                  AND (j.run_after IS NULL OR j.run_after <= {now})
                  AND (j.expires_at IS NULL OR j.expires_at > {now})
                  AND (j.max_running IS NULL OR j.owner_id IS NULL OR j.max_running > (
                      SELECT COUNT(*) FROM {TABLE} r
                      WHERE r.owner_id = j.owner_id AND r.kind = j.kind
                        AND r.status = 'running'))
                ORDER BY j.priority DESC, j.fair_tag, j.id
                LIMIT 1
                {self.lock}
            ) AND status = 'queued'
            RETURNING *
        """

    def _take_for_worker(self) -> str:
        """The claim's SET: running, one more attempt, this worker, a fresh lease."""
        now = self.now
        return f"""UPDATE {TABLE} SET
                status = 'running', attempts = attempts + 1, worker = %s,
                started_at = {now}, heartbeat_at = {now},
                lease_expires_at = {self.later("lease_seconds")}"""

    def claim_companions(self) -> str:
        """Up to N more queued jobs of one queue, kind and batch key, for the worker that
        claimed the first: in claim order (priority, fair tag, age), and per owner no more
        than the owner's `max_running` allows (counting what already runs)."""
        now = self.now
        return f"""
            {self._take_for_worker()}
            WHERE id IN (
                SELECT c.id FROM (
                    SELECT j.id, j.priority, j.fair_tag, j.owner_id, j.max_running,
                        ROW_NUMBER() OVER (
                            PARTITION BY j.owner_id ORDER BY j.priority DESC, j.fair_tag, j.id
                        ) AS nth,
                        (SELECT COUNT(*) FROM {TABLE} r
                         WHERE r.owner_id = j.owner_id AND r.kind = j.kind
                           AND r.status = 'running') AS busy
                    FROM {TABLE} j
                    WHERE j.status = 'queued' AND j.queue = %s AND j.kind = %s
                      AND {self.batch_key.format(table="j")} = %s
                      AND (j.run_after IS NULL OR j.run_after <= {now})
                      AND (j.expires_at IS NULL OR j.expires_at > {now})
                ) c
                WHERE c.max_running IS NULL OR c.owner_id IS NULL
                   OR c.busy + c.nth <= c.max_running
                ORDER BY c.priority DESC, c.fair_tag, c.id
                LIMIT %s
            ) AND status = 'queued'
            RETURNING *
        """

    def overdue(self) -> str:
        """Running jobs past their time limit by more than a lease: their worker neither
        stopped them nor died (its lease keeper goes on renewing): id, worker, attempt."""
        deadline = self.time_plus.format(
            time="started_at", seconds="time_limit_seconds + lease_seconds"
        )
        return f"""
            SELECT id, worker, attempts FROM {TABLE}
            WHERE status = 'running' AND time_limit_seconds IS NOT NULL
              AND {deadline} < {self.now}
            ORDER BY id LIMIT %s
        """

    def renew(self, *, with_progress: bool) -> str:
        """Extends the lease of a job we still hold; returns its cancel flag, or no row."""
        now = self.now
        progress = f", progress = {self.json_param}" if with_progress else ""
        return f"""
            UPDATE {TABLE} SET
                heartbeat_at = {now},
                lease_expires_at = {self.later("lease_seconds")}{progress}
            WHERE id = %s AND status = 'running' AND worker = %s AND attempts = %s
            RETURNING cancel_requested
        """


POSTGRESQL = Dialect(
    # Like Django's Now(): the statement's time, not the (possibly older) transaction's.
    now="statement_timestamp()",
    seconds_later="statement_timestamp() + make_interval(secs => {seconds})",
    lock="FOR UPDATE OF j SKIP LOCKED",
    json_param="%s::jsonb",
    batch_key="{table}.payload->>'batch_key'",
    probe_before_claim=False,
    time_plus="{time} + make_interval(secs => {seconds})",
    # Per (owner, kind), held to the end of the claim's transaction. Under READ COMMITTED the
    # count after it sees every claim committed before it, so two racing claims cannot both
    # pass: the second to get the lock sees the first and rolls its own claim back.
    owner_lock="SELECT pg_advisory_xact_lock(hashtextextended('stylevault.jobs.owner:' || %s, 0))",
)

# Writers are serialised by SQLite's lock (IMMEDIATE transactions), so no row lock is needed.
SQLITE = Dialect(
    now="strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now')",
    seconds_later="strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', '+' || ({seconds}) || ' seconds')",
    lock="",
    json_param="%s",
    batch_key="json_extract({table}.payload, '$.batch_key')",
    probe_before_claim=True,
    time_plus="strftime('%%Y-%%m-%%d %%H:%%M:%%f', {time}, '+' || ({seconds}) || ' seconds')",
)


def dialect(connection: BaseDatabaseWrapper) -> Dialect:
    if connection.vendor == "postgresql":
        return POSTGRESQL
    if connection.vendor == "sqlite":
        return SQLITE
    raise NotImplementedError(f"jobs need PostgreSQL or SQLite, not {connection.vendor}")
