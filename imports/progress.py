"""How far a running check or commit has got, kept in the shared cache.

A commit runs in one transaction, so a percentage written to its job row would stay invisible
until the end; the cache is seen at once by the page the person is watching.
"""

from django.core.cache import cache


def _key(job_id: int) -> str:
    return f"import-progress:{job_id}"


def reporter(job_id: int, start: int, end: int):
    """A function taking a fraction of a stage (0–1) and recording it as start–end percent."""

    def report(fraction: float) -> None:
        cache.set(_key(job_id), int(start + (end - start) * min(max(fraction, 0.0), 1.0)), timeout=3600)

    return report


def percent(job) -> int:
    return cache.get(_key(job.pk), job.progress)
