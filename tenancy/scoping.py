"""Tenant scoping that fails closed, built on django-scopes' context state.

Every tenant-owned model uses ``TenantScopedManager`` as its default manager. Inside
``scope(tenant=t)`` its queries are filtered to ``t``; with no scope active they raise ``ScopeError``;
``scopes_disabled()`` is the one explicit way to cross tenants (Django admin, the outbox sweeper,
listing a user's own memberships). ``scope(tenant=None)`` is the platform scope: rows without a tenant
(e.g. password-reset emails), never all rows.

Services and selectors still take the tenant explicitly and filter by it; the scope is the second wall.
"""

from contextlib import contextmanager

from django.db import models
from django_scopes import ScopeError, get_scope, scope, scopes_disabled
from django_scopes.manager import DisabledQuerySet
from django_scopes.state import state

__all__ = ["ScopeError", "TenantScopedManager", "isolated_scope", "scope", "scopes_disabled"]


class TenantScopedManager(models.Manager):
    use_in_migrations = False

    def get_queryset(self):
        current = get_scope()
        if not current.get("_enabled", True):
            return super().get_queryset()
        if "tenant" not in current:
            return DisabledQuerySet(self.model, using=self._db, missing_scopes={"tenant"})
        # None filters to rows without a tenant (IS NULL), unlike plain django-scopes.
        return super().get_queryset().filter(tenant=current["tenant"])

    def all(self):
        queryset = super().all()
        if isinstance(queryset, DisabledQuerySet):
            queryset = queryset.all()  # raises ScopeError
        return queryset


@contextmanager
def isolated_scope(**values):
    """Replace (not extend) the current scope state for the block.

    Requests and tasks start from a clean state, so a scope or ``scopes_disabled()`` around the
    caller (a test, say) never leaks into the code under it.
    """
    token = state.set(dict(values))
    try:
        yield
    finally:
        state.reset(token)
