"""Real concurrency for tests: each attempt in its own thread and database connection, released at once."""

import threading

from django.db import connection

from tenancy.scoping import isolated_scope

JOIN_TIMEOUT = 60


def race(tenant, attempts, *, barrier_timeout=10):
    """Run each attempt in its own thread (own database connection), all released at once. Returns what
    each attempt returned or raised, in order; an attempt still running after the timeout fails the test."""
    barrier = threading.Barrier(len(attempts))
    outcomes = [None] * len(attempts)

    def run(index, attempt):
        try:
            with isolated_scope(tenant=tenant):
                barrier.wait(timeout=barrier_timeout)
                outcomes[index] = attempt()
        except Exception as exc:  # every failure is an outcome the test looks at
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a), daemon=True) for i, a in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "an attempt hung (lock wait?)"
    return outcomes
