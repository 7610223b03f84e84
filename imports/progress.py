"""How far a running check or commit has got, kept in the shared cache.

A commit runs in one transaction, so a percentage written to its job row would stay invisible
until the end; the cache is seen at once by the page the person is watching. Progress is only
shown, never relied on: with the cache down (Redis stopped) the work goes on unreported and the
pages show the job's own figure.
"""

import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)


def _key(job_id: int) -> str:
    return f"import-progress:{job_id}"


def reporter(job_id: int, start: int, end: int):
    """A function taking a fraction of a stage (0–1) and recording it as start–end percent."""

    unavailable = False

    def report(fraction: float) -> None:
        nonlocal unavailable
        if unavailable:
            return
        try:
            cache.set(_key(job_id), int(start + (end - start) * min(max(fraction, 0.0), 1.0)), timeout=3600)
        except Exception:  # any backend's connection error: said once, not tried again in this stage
            unavailable = True
            logger.warning("Import %s: progress not recorded, the cache is unavailable.", job_id)

    return report


def percent(job) -> int:
    try:
        return cache.get(_key(job.pk), job.progress)
    except Exception:  # any backend's connection error
        logger.warning("Import %s: progress not read, the cache is unavailable.", job.pk)
        return job.progress
