"""Customer profiles: the people and companies a workspace does work for."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from jobline.workspaces.models import Workspace


class Customer(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="customers")
    name = models.CharField(max_length=150)
    email = models.EmailField("e-mail address", blank=True)
    phone = models.CharField(max_length=40, blank=True)
    address = models.TextField(blank=True)
    notes = models.TextField(blank=True, help_text="Internal: never shown to the customer.")
    notify_on_replies = models.BooleanField(
        "Notify on replies",
        default=True,
        help_text="E-mail the customer when staff send them a reply.",
    )
    # The person who signs in to the portal as this customer (set by "Invite to portal").
    portal_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customer_profiles",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One profile per e-mail address inside a workspace (blank e-mails are allowed).
            models.UniqueConstraint(
                "workspace",
                Lower("email"),
                condition=~Q(email=""),
                name="customer_unique_email_per_workspace",
            ),
        ]
        indexes = [
            # Serves the customer list: active customers of a workspace in name order.
            models.Index(fields=["workspace", "archived_at", "name", "id"], name="cust_list_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None
