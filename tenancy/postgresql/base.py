"""Django's PostgreSQL backend, plus the row-level security settings sent with every statement.

Before a statement runs, the settings the policies read (``tenancy/rls.py``) must match the
django-scopes state of the code issuing it, and they are transaction-local, so they never outlive
the transaction (nor reach the next request on a reused connection, or another client behind a
pooler in transaction mode):

- inside a transaction: one ``set_config(…, true)`` when the transaction starts or the scope changes;
- in autocommit: the ``set_config`` leads the statement in the same simple-protocol query, so both
  run in one implicit transaction and no extra round trip is made;
- a server-side cursor, ``executemany`` or ``copy`` in autocommit cannot take a leading statement:
  they run in a transaction of their own with the settings set first;
- statements PostgreSQL refuses inside a transaction (``VACUUM``, ``CREATE INDEX CONCURRENTLY``…)
  go alone: they read no rows through the policies.

With no scope (``createdb``) nothing is sent: an unset setting already means no rows. Raw psycopg
calls (``connection.connection``) bypass all this and run with whatever the transaction last set.
Query logs and counts show the statements as the code wrote them.
"""

import re
from contextlib import contextmanager

import psycopg
from django.db import transaction
from django.db.backends.postgresql import base
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

from tenancy import rls

NO_SCOPE = ("none", "")
OUTSIDE_TRANSACTIONS = re.compile(
    r"\s*(VACUUM|CLUSTER|REINDEX|ALTER\s+SYSTEM|(CREATE|DROP)\s+DATABASE|(CREATE|DROP)\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY)",
    re.IGNORECASE,
)


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tenant_settings = None  # what the open transaction has applied, if any
        self._savepoint_statement = False

    def make_cursor(self, cursor):
        return TenantSettingCursor(cursor, self)

    def make_debug_cursor(self, cursor):
        return TenantSettingDebugCursor(cursor, self)

    def run_with_tenant_settings(self, cursor, sql, run, many: bool):
        """Call ``run(prefix)`` (the statement, with ``prefix`` SQL in front when given) with the
        settings of the current scope in force."""
        if self._savepoint_statement:  # reads no rows, and may run in a failed transaction
            return run("")
        wanted = rls.wanted_settings()
        if not self.get_autocommit():
            self.apply_tenant_settings(wanted)
            return run("")
        if wanted == NO_SCOPE or (isinstance(sql, str) and OUTSIDE_TRANSACTIONS.match(sql)):
            return run("")
        if many or isinstance(cursor, psycopg.ServerCursor):
            with self.transaction_with_tenant_settings():
                return run("")
        return run(rls.settings_sql(wanted, local=True) + "; ")

    def apply_tenant_settings(self, wanted) -> None:
        """Inside a transaction: set ``wanted`` unless this transaction already has."""
        if self._tenant_settings != wanted:
            with self.wrap_database_errors:
                self.connection.execute(rls.settings_sql(wanted, local=True))
            self._tenant_settings = wanted

    @contextmanager
    def transaction_with_tenant_settings(self):
        """A transaction (or the one open) with the current scope's settings in force."""
        with transaction.atomic(using=self.alias, savepoint=False):
            self.apply_tenant_settings(rls.wanted_settings())
            yield

    def _forget_tenant_settings(self):
        self._tenant_settings = None

    def _commit(self):
        self._forget_tenant_settings()
        return super()._commit()

    def _rollback(self):
        self._forget_tenant_settings()
        return super()._rollback()

    def _savepoint(self, sid):
        with self._as_savepoint_statement():
            return super()._savepoint(sid)

    def _savepoint_commit(self, sid):
        with self._as_savepoint_statement():
            return super()._savepoint_commit(sid)

    def _savepoint_rollback(self, sid):
        with self._as_savepoint_statement():
            super()._savepoint_rollback(sid)
        self._forget_tenant_settings()  # a set_config after the savepoint is undone with it

    @contextmanager
    def _as_savepoint_statement(self):
        self._savepoint_statement = True
        try:
            yield
        finally:
            self._savepoint_statement = False

    def _set_autocommit(self, autocommit):
        self._forget_tenant_settings()
        return super()._set_autocommit(autocommit)

    def connect(self):
        self._forget_tenant_settings()
        return super().connect()

    def _close(self):
        self._forget_tenant_settings()
        return super()._close()


class TenantSettingCursorMixin:
    def _execute(self, sql, params, *ignored_wrapper_args):
        self.db.validate_no_broken_transaction()

        def run(prefix: str):
            if not prefix:
                return super(TenantSettingCursorMixin, self)._execute(sql, params, *ignored_wrapper_args)
            with self.db.wrap_database_errors:
                statement = prefix + sql
                result = self.cursor.execute(statement) if params is None else self.cursor.execute(statement, params)
                self.cursor.nextset()  # the statement's own result, not set_config's
                return result

        return self.db.run_with_tenant_settings(self.cursor, sql, run, many=False)

    def _executemany(self, sql, param_list, *ignored_wrapper_args):
        self.db.validate_no_broken_transaction()
        return self.db.run_with_tenant_settings(
            self.cursor,
            sql,
            lambda prefix: super(TenantSettingCursorMixin, self)._executemany(sql, param_list, *ignored_wrapper_args),
            many=True,
        )

    @contextmanager
    def copy(self, statement, params=None, **kwargs):
        """psycopg's COPY, with the scope's settings in force (COPY … TO reads through the policies)."""
        with self.db.transaction_with_tenant_settings(), self.cursor.copy(statement, params, **kwargs) as copy:
            yield copy


class TenantSettingCursor(TenantSettingCursorMixin, CursorWrapper):
    pass


class TenantSettingDebugCursor(TenantSettingCursorMixin, CursorDebugWrapper):
    pass
