"""API keys: how a program outside Tessera acts in one workspace through the JSON API (docs/api.md).

A key is ``tess_<prefix>_<secret>``. The prefix is public (the dashboard lists it, and it finds the
key's row); the secret is 256 random bits of which only the SHA-256 is kept, so the database alone
cannot make a working key, and the full key is shown once, when it is created.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy

from tenancy.models import NO_CONTROL_CHARACTERS, TenantOwned


class KeyScope(models.TextChoices):
    READ = "read", gettext_lazy("Read only")
    READ_WRITE = "read_write", gettext_lazy("Read and write")


class ApiKey(TenantOwned):
    name = models.CharField(max_length=100, validators=[NO_CONTROL_CHARACTERS])
    prefix = models.CharField(max_length=16, unique=True)  # unique: the index that finds a key
    secret_hash = models.CharField(max_length=64)
    scope = models.CharField(max_length=10, choices=KeyScope.choices, default=KeyScope.READ)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Written at most once a minute (api/authentication.py): not one UPDATE per request.
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.prefix})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope == KeyScope.READ_WRITE
