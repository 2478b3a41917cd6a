"""Builds the demo workspace "Harbour Renovations & Repairs". Safe to run again: it creates
nothing twice."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from jobline.accounts.models import User
from jobline.approvals.demo import add_demo_approvals
from jobline.billing.demo import add_demo_schedules
from jobline.bookings.demo import add_demo_bookings
from jobline.customers.models import Customer
from jobline.jobs.demo import add_demo_jobs
from jobline.notifications.models import EmailStatus, OutgoingEmail
from jobline.quotes.demo import add_demo_quote_approval, add_demo_quotes
from jobline.workspaces.models import Membership, Role, Workspace
from jobline.workspaces.services import workspace_create

DEMO_WORKSPACE = "Harbour Renovations & Repairs"
DEMO_PASSWORD = "harbour-demo-2026"
DEMO_CUSTOMER_EMAIL = "customer@demo.jobline.test"
DEMO_STAFF = [
    ("owner@demo.jobline.test", "Morgan Hale", Role.ADMIN),
    ("alex@demo.jobline.test", "Alex Rivera", Role.MANAGER),
    ("sam@demo.jobline.test", "Sam Okafor", Role.STAFF),
]
# name, e-mail, phone, address, notes
DEMO_CUSTOMERS = [
    ("Priya Natarajan", "customer@demo.jobline.test", "07700 900123",
     "14 Quay Street\nFalmouth TR11 3HH", "Prefers texts before 9am."),
    ("Tom Whitfield", "tom.whitfield@example.com", "07700 900456",
     "3 Harbour Terrace\nFalmouth TR11 2AQ", ""),
    ("Eilidh MacLeod", "eilidh.macleod@example.com", "07700 900789",
     "The Old Sail Loft, Custom House Quay\nFalmouth TR11 3JT", "Dog on site — ring first."),
    ("Jamal Ahmed", "jamal.ahmed@example.com", "07700 900234",
     "21 Dracaena Avenue\nFalmouth TR11 2EQ", ""),
    ("Sophie Laurent", "sophie.laurent@example.com", "07700 900567",
     "8 Wodehouse Terrace\nFalmouth TR11 3EP", "Bathroom renovation enquiry from the website."),
    ("Gareth Pryce", "gareth@pryce-lettings.example.com", "01326 555 010",
     "Pryce Lettings, 40 Church Street\nFalmouth TR11 3EF", "Letting agent: four properties."),
    ("Aoife Brennan", "aoife.brennan@example.com", "07700 900890",
     "5 Trelawney Road\nFalmouth TR11 3NR", ""),
    ("Daniel Kowalski", "d.kowalski@example.com", "07700 900345",
     "Flat 2, 17 Arwenack Street\nFalmouth TR11 3JD", "Phone repair customer."),
    ("Hannah Trevithick", "hannah.trevithick@example.com", "07700 900678",
     "Penmere House, Penmere Hill\nFalmouth TR11 2RJ", ""),
    ("Marcus Bell", "marcus.bell@example.com", "07700 900901",
     "12 Killigrew Street\nFalmouth TR11 3PN", "Pays by bank transfer only."),
    ("Yuki Tanaka", "yuki.tanaka@example.com", "07700 900112",
     "9 Western Terrace\nFalmouth TR11 4QJ", ""),
    ("Rosa Delgado", "rosa.delgado@example.com", "07700 900334",
     "Rosa's Café, 2 Market Strand\nFalmouth TR11 3DB", "Café refit — work outside opening hours."),
]  # fmt: skip


class Command(BaseCommand):
    help = "Create (or top up) the demo workspace with its staff and customers."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        people = {}
        for email, full_name, _role in DEMO_STAFF:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(email, DEMO_PASSWORD, full_name=full_name)
            people[email] = user

        owner = people[DEMO_STAFF[0][0]]
        workspace = (
            Workspace.objects.filter(name=DEMO_WORKSPACE, memberships__user=owner)
            .distinct()
            .first()
        )
        if workspace is None:
            workspace = workspace_create.step(
                name=DEMO_WORKSPACE,
                owner=owner,
                time_zone="Europe/London",
                currency="GBP",
                locale="en-GB",
            )
        for email, _full_name, role in DEMO_STAFF:
            Membership.objects.get_or_create(
                workspace=workspace, user=people[email], defaults={"role": role}
            )

        created = 0
        for name, email, phone, address, notes in DEMO_CUSTOMERS:
            _customer, was_created = Customer.objects.get_or_create(
                workspace=workspace,
                email=email,
                defaults={
                    "name": name,
                    "phone": phone,
                    "address": address,
                    "notes": notes,
                    "created_by": owner,
                },
            )
            created += was_created

        # The customer portal is on, and Priya signs in to it (by link, or with the password).
        if not workspace.portal_enabled:
            workspace.portal_enabled = True
            workspace.save(update_fields=["portal_enabled"])
        portal_customer = Customer.objects.get(workspace=workspace, email=DEMO_CUSTOMER_EMAIL)
        if portal_customer.portal_user is None:
            portal_user = User.objects.filter(email=DEMO_CUSTOMER_EMAIL).first()
            if portal_user is None:
                portal_user = User.objects.create_user(
                    DEMO_CUSTOMER_EMAIL, DEMO_PASSWORD, full_name=portal_customer.name
                )
            portal_customer.portal_user = portal_user
            portal_customer.save(update_fields=["portal_user"])

        started = timezone.now()
        jobs_added = add_demo_jobs(
            workspace=workspace, staff=[people[email] for email, _name, _role in DEMO_STAFF]
        )
        visits_added = add_demo_bookings(
            workspace=workspace, staff=[people[email] for email, _name, _role in DEMO_STAFF]
        )
        quotes_added = add_demo_quotes(
            workspace=workspace, staff=[people[email] for email, _name, _role in DEMO_STAFF]
        )
        schedules_added = add_demo_schedules(
            workspace=workspace, staff=[people[email] for email, _name, _role in DEMO_STAFF]
        )
        approvals = add_demo_approvals(workspace=workspace, customer_email=DEMO_CUSTOMER_EMAIL)
        # After the approvals above (which settle the histories'): this one stays open.
        quote_approval = add_demo_quote_approval(
            workspace=workspace, staff=[people[email] for email, _name, _role in DEMO_STAFF]
        )
        approvals += quote_approval
        quotes_added += quote_approval
        # The demo's histories are dated weeks back: they are not news, so the customer
        # e-mails they queued are dropped (their delivery tasks then find nothing to send).
        OutgoingEmail.objects.filter(
            workspace=workspace, status=EmailStatus.WAITING, created_at__gte=started
        ).delete()

        self.stdout.write(self.style.SUCCESS(f"Demo workspace: {workspace.name}"))
        self.stdout.write(f"  {created} customers added ({len(DEMO_CUSTOMERS)} in the demo).")
        self.stdout.write(f"  {jobs_added} jobs added over the five template pipelines.")
        self.stdout.write(f"  {visits_added} visits added to the calendar.")
        self.stdout.write(f"  {quotes_added} quotes written, one waiting in the portal.")
        self.stdout.write(f"  {schedules_added} jobs given a payment schedule.")
        self.stdout.write(f"  {approvals} customer approvals, one waiting in the portal.")
        self.stdout.write("  Sign in at http://127.0.0.1:8000/ with any of these:")
        for email, _full_name, role in DEMO_STAFF:
            self.stdout.write(f"    {role.label:<8} {email:<28} password: {DEMO_PASSWORD}")
        self.stdout.write(
            f"    {'Customer':<8} {DEMO_CUSTOMER_EMAIL:<28} password: {DEMO_PASSWORD}"
            "   (portal: http://127.0.0.1:8000/user/jobs/)"
        )
        if not settings.DEBUG:
            self.stdout.write(self.style.WARNING("  (DEBUG is off: these are demo passwords.)"))
