"""Many writers at once: leaf indexes stay contiguous and the tree verifies.

Threads with their own database connections record events (some inside longer transactions
that hold the log, some rolled back) while another thread keeps signing heads."""

from __future__ import annotations

import io
import random
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connections, transaction

from stylevault.provenance import merkle, selectors, services
from stylevault.provenance.models import Event, TreeHead

pytestmark = pytest.mark.django_db(transaction=True)

THREADS, EACH = 8, 15


def test_concurrent_writers_get_contiguous_indexes_and_a_verifiable_tree():
    barrier = threading.Barrier(THREADS + 1)
    failures: list[str] = []
    committed: list[str] = []
    done = threading.Event()
    mid_run_head = threading.Event()  # a head was signed while the writers are still busy

    def writer(n: int) -> None:
        rng = random.Random(n)
        try:
            barrier.wait(timeout=30)
            for i in range(EACH):
                if i == EACH // 2:  # let the signer sign over half the log before going on
                    mid_run_head.wait(timeout=30)
                subject = ("generation.image", f"{n}-{i}")
                choice = rng.random()
                if choice < 0.2:
                    # Rolled back with the act it belonged to: must leave no gap.
                    try:
                        with transaction.atomic():
                            services.record_event(
                                kind="image_generated", subject=subject, payload={"n": n}
                            )
                            raise RuntimeError("act failed")
                    except RuntimeError:
                        pass
                    continue
                with transaction.atomic():
                    services.record_event(
                        kind="image_generated", subject=subject, payload={"n": n, "i": i}
                    )
                    if choice < 0.5:
                        time.sleep(0.002)  # the caller's transaction goes on holding the log
                committed.append(f"{n}-{i}")
        except Exception as exc:  # reported to the test
            failures.append(repr(exc))
        finally:
            connections.close_all()

    def signer() -> None:
        try:
            barrier.wait(timeout=30)
            while not done.is_set():
                if services.sign_tree_head().tree_size > 0:
                    mid_run_head.set()
                time.sleep(0.005)
        except Exception as exc:
            failures.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    signing = threading.Thread(target=signer)
    signing.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    done.set()
    signing.join(timeout=60)
    assert not failures, failures

    seqs = list(Event.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(len(committed)))
    assert sorted(Event.objects.values_list("subject_id", flat=True)) == sorted(committed)

    final = services.sign_tree_head()
    assert final.tree_size == len(committed)
    assert TreeHead.objects.count() >= 2
    out = io.StringIO()
    call_command("provenance", "verify", stdout=out)
    assert f"OK: {len(committed)} events" in out.getvalue()

    leaves = [
        bytes.fromhex(h) for h in Event.objects.order_by("seq").values_list("leaf_hash", flat=True)
    ]
    root = bytes.fromhex(final.root_hash)
    assert merkle.root_hash(leaves) == root
    for seq in range(0, len(leaves), 7):
        proof = selectors.inclusion_proof(seq=seq, tree_size=final.tree_size)
        path = [bytes.fromhex(h) for h in proof["audit_path"]]
        assert merkle.verify_inclusion(leaves[seq], seq, final.tree_size, path, root)
