"""People: the login (``User``, one per person across tenants) and a tenant's card for a person (``Client``)."""

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy

from tenancy.models import TenantOwned


def normalize_email(email: str) -> str:
    """Emails are matched case-insensitively; we store them lowercased and trimmed."""
    return (email or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=normalize_email(email))

    def find_by_email(self, email):
        return self.filter(email__iexact=normalize_email(email)).first()


class User(AbstractBaseUser, PermissionsMixin):
    """Logs in with an email address, unique whatever its case."""

    email = models.EmailField("email address", max_length=254, unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text=gettext_lazy("Platform operator: can use the Django admin across all tenants.")
    )
    email_verified = models.BooleanField(
        default=True,
        help_text=gettext_lazy(
            "The person proved the address (an emailed link). False for a login someone else made for "
            "them (a customer creating a learner) until they use such a link."
        ),
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]
        ordering = ["email"]

    def __str__(self):
        return self.email

    def clean(self):
        super().clean()
        self.email = normalize_email(self.email)

    def get_full_name(self):
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self):
        return self.first_name or self.email


class Client(TenantOwned):
    """A tenant's card for a person it does business with; optionally linked to their login."""

    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    notes = models.TextField(blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="client_cards"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "tenant", Lower("email"), condition=~models.Q(email=""), name="client_email_unique_in_tenant"
            ),
            models.UniqueConstraint(
                fields=["tenant", "user"], condition=models.Q(user__isnull=False), name="client_user_unique_in_tenant"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "last_name", "first_name"], name="client_name_idx")]
        ordering = ["last_name", "first_name", "id"]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
