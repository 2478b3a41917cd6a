"""People who sign in (staff through memberships, customers through the portal), how their
attempts are counted, and the one-time links e-mailed to them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from jobline.accounts.tokens import hash_token


def normalize_email_address(email: str) -> str:
    """E-mail is the sign-in name; compare and store it case-insensitively."""
    return email.strip().lower()


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=normalize_email_address(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email=normalize_email_address(username or ""))


def initials_of(full_name: str, email: str) -> str:
    """A person's avatar letters: of their name, else of their e-mail address."""
    parts = [p for p in (full_name or email).replace("@", " ").split() if p]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("e-mail address", unique=True)
    full_name = models.CharField("full name", max_length=150)
    # is_staff here means "may use Django's admin site" (operators), not "workspace staff".
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = normalize_email_address(self.email)
        super().save(*args, **kwargs)

    @property
    def initials(self) -> str:
        return initials_of(self.full_name, self.email)

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class ThrottleBucket(models.Model):
    """One thing whose attempts are counted: an account, a network address, or the pair of
    both (sign-in failures), or an address e-mailed links (link and sign-up requests).

    The row is what a counting request locks (SELECT ... FOR UPDATE), so the check and the
    count of one attempt are a single step even with many app servers. Rows stay (one per key
    ever seen, a few bytes each); their hits are pruned as the window passes.
    """

    key = models.CharField(max_length=400, unique=True)
    scope = models.CharField(max_length=32)
    # The account the key is about, when it is about one: a password reset clears by it.
    email = models.CharField(max_length=254, blank=True)

    class Meta:
        indexes = [
            # Serves clearing an account's sign-in failures (password reset).
            models.Index(fields=["email", "scope"], name="throttle_bucket_email_idx"),
        ]

    def __str__(self) -> str:
        return self.key


class ThrottleHit(models.Model):
    """One attempt counted against a bucket. A sign-in reserves one before the password is
    checked and gives it back when the password was right."""

    bucket = models.ForeignKey(ThrottleBucket, on_delete=models.CASCADE, related_name="hits")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # Serves the count: a bucket's hits in the last window, newest first.
            models.Index(fields=["bucket", "created_at"], name="throttle_hit_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.bucket_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class OneTimeLinkQuerySet(models.QuerySet[Any]):
    def usable(self, token: str) -> OneTimeLinkQuerySet:
        """The link a token opens, while it still may: not used yet and not expired."""
        return self.filter(
            token_hash=hash_token(token), used_at__isnull=True, expires_at__gt=timezone.now()
        )


class SignInLinkScope(models.TextChoices):
    # A staff link opens the whole account (it is asked for on the staff sign-in page).
    STAFF = "staff", "Staff sign-in"
    # A portal link opens the customer portal only: a business can have it sent to anyone.
    PORTAL = "portal", "Customer portal only"


class SignInLink(models.Model):
    """A one-time sign-in link sent by e-mail (valid 30 minutes, single use).

    Only the token's hash is stored: a leaked row cannot be turned into a working link.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=8, choices=SignInLinkScope.choices)
    email = models.CharField(max_length=254)
    token_hash = models.CharField(max_length=64, unique=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    objects = OneTimeLinkQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.get_scope_display()} link for {self.email}"


class SignUpRequest(models.Model):
    """A sign-up waiting for its e-mail address to be confirmed by the link sent to it.

    The page answers the same for every address, so what was typed waits here (the password
    only as its hash) until the link proves the address. ``details`` is what the layer above
    creates on confirmation (the business's name, time zone and currency); accounts never
    reads it.
    """

    email = models.CharField(max_length=254)
    full_name = models.CharField(max_length=150)
    password_hash = models.CharField(max_length=128)
    details = models.JSONField(default=dict)
    token_hash = models.CharField(max_length=64, unique=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    objects = OneTimeLinkQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Sign-up for {self.email}"
