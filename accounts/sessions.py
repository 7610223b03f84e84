"""The session engine: Django's database sessions, except that a database lost while a session is
saved is a server error (the 500 page), not a session "deleted meanwhile" (a 400 page).

Django's database store turns every database error of an update into ``UpdateError``, which the
session middleware answers as a concurrent logout: "That request could not be understood". A
connection that died (PostgreSQL restarted, the network cut) is the server's fault, and the person
should be told to try again (tests/faults/test_postgres_restart.py).
"""

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import UpdateError
from django.db import InterfaceError, OperationalError


class SessionStore(db.SessionStore):
    def save(self, must_create=False):
        try:
            super().save(must_create=must_create)
        except UpdateError as exc:
            if isinstance(exc.__context__, (OperationalError, InterfaceError)):
                raise exc.__context__ from None
            raise
