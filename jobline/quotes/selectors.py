"""Every read the quote pages need, through Quote.objects.visible_to (or by_public_token for
the link's holder), with a fixed number of queries."""

from __future__ import annotations

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.urls import reverse

from jobline.accounts.models import User
from jobline.approvals.hooks import Document
from jobline.core.pages import Counted
from jobline.core.prepared import PreparedQuery
from jobline.core.search import prefix_match
from jobline.customers.models import Customer
from jobline.jobs.hooks import JobPageSection
from jobline.jobs.models import Job
from jobline.quotes import tokens
from jobline.quotes.models import (
    Quote,
    QuoteEvent,
    QuoteFollower,
    QuoteLine,
    QuoteRevision,
    TaxRate,
)
from jobline.workspaces.models import Membership, Role, Workspace
from jobline.workspaces.viewers import Viewer, member_viewer

PAGE_SIZE = 50
LIST_FIELDS = (
    "pk", "workspace_id", "number", "title", "status", "total", "accepted_total", "currency",
    "created_at",
    "expires_on", "sent_at", "viewed_at", "customer_id", "customer__name", "job_id",
    "job__number",
)  # fmt: skip


def quote_list(
    *, viewer: Viewer | None, status: str = "", q: str = "", page: str | int = 1
) -> Page:
    """A page of the viewer's quotes, newest first; one query for the page, one to count."""
    rows = Quote.objects.visible_to(viewer).select_related("customer", "job").only(*LIST_FIELDS)
    if status:
        rows = rows.filter(status=status)
    listed = counted = rows
    if term := q.strip():
        # Words of the title from their start (core/search.py), a customer's name anywhere
        # in it, or the number. The matching customers first (a small list), so the quotes
        # are filtered by their customer's id instead of joining every quote to its customer.
        customer_ids = list(
            Customer.objects.filter(workspace_id=viewer.workspace_id if viewer else None)
            .filter(name__icontains=term)
            .values_list("pk", flat=True)[:1000]
        )
        match = Q(customer_id__in=customer_ids)
        number = term.upper().removeprefix("Q-")
        if number.isdigit() and len(number) < 10:
            match |= Q(number=int(number))
        title_match = prefix_match(term)
        if not title_match:
            listed = counted = rows.filter(match)
        elif connection.vendor == "postgresql":
            query = SearchQuery(title_match, config="simple", search_type="raw")
            vector = SearchVector("title", config="simple")
            # Two forms of one filter, each planned well by PostgreSQL: the count ORs the
            # title's GIN index with the customers' index (bitmaps: 1.4 ms at 50,000 quotes,
            # 48 with the subquery); the newest-first page asks the index once for the
            # titles' ids (7 ms, 40 when the title test ran on every row along the date
            # index).
            titled = Quote.objects.alias(title_search=vector).filter(title_search=query)
            counted = rows.alias(title_search=vector).filter(match | Q(title_search=query))
            listed = rows.filter(match | Q(pk__in=titled.values("pk")))
        else:  # SQLite: the FTS5 table of migration 0003
            fts = "SELECT rowid FROM quotes_quote_fts WHERE quotes_quote_fts MATCH %s"
            listed = counted = rows.filter(match | Q(pk__in=RawSQL(fts, [title_match])))
    newest_first = listed.order_by("-created_at", "-id")
    return Paginator(Counted(counted.order_by().count(), newest_first), PAGE_SIZE).get_page(page)


def export_rows(*, viewer: Viewer | None) -> QuerySet[Quote]:
    return (
        Quote.objects.visible_to(viewer)
        .select_related("customer", "job")
        .only(*LIST_FIELDS, "deposit_kind", "deposit_value", "decided_at")
        .order_by("number", "id")
    )


def get_quote(*, viewer: Viewer | None, pk: int) -> Quote:
    quote = (
        Quote.objects.visible_to(viewer)
        .select_related("customer", "workspace", "pipeline", "owner", "job")
        .filter(pk=pk)
        .first()
    )
    if quote is None:
        raise Http404("No such quote.")
    return quote


def public_quote(token: str) -> Quote:
    """The quote behind a public link; a tampered, unknown or draft link is a 404."""
    if not token.isascii() or len(token) != 64:
        raise Http404("No such quote.")
    quote = (
        Quote.objects.by_public_token(tokens.token_hash(token))
        .select_related("customer", "workspace", "job")
        .first()
    )
    if quote is None:
        raise Http404("No such quote.")
    return quote


def lines(quote: Quote) -> list[QuoteLine]:
    return list(QuoteLine.objects.filter(quote=quote).order_by("position", "id"))


def history(quote: Quote) -> list[QuoteEvent]:
    return list(
        QuoteEvent.objects.filter(quote=quote)
        .select_related("actor")
        .order_by("-created_at", "-id")
    )


def revisions(quote: Quote) -> list[QuoteRevision]:
    return list(QuoteRevision.objects.filter(quote=quote).order_by("-number"))


def tax_rates(workspace: Workspace) -> QuerySet[TaxRate]:
    return TaxRate.objects.filter(workspace=workspace, archived_at__isnull=True).order_by(
        "percent", "name"
    )


def is_member(user: object, workspace_id: int) -> bool:
    """Whether the person opening a public quote works in its business (their look is not
    the customer's "viewed")."""
    if not getattr(user, "is_authenticated", False):
        return False
    return Membership.objects.active().filter(user=user, workspace_id=workspace_id).exists()


def portal_quotes(*, user: object) -> QuerySet[Quote]:
    return Quote.objects.in_portal_of(user).select_related("workspace").order_by("-sent_at", "-id")


# The job page's read, compiled once (core/prepared.py); the quote it was converted from (a
# job has at most one, ``first()`` ordered by id as before).
_JOB_QUOTE = PreparedQuery(
    lambda viewer, job_id: (
        Quote.objects.visible_to(viewer).filter(job_id=job_id).order_by("pk")[:1]
    ),
    name="job quote",
)


def approval_documents(job: Job, viewer: Viewer) -> list[Document]:
    """The revisions of the quote the job was made from, newest first, as an approval can show
    them to the job's customer (approvals.hooks). Only for a viewer who may read the quote
    (Quote.objects.visible_to: the roles that see money), and only the job's own customer's."""
    if job.customer_id is None or not job.workspace.module_quotes:
        return []
    quote = (
        Quote.objects.visible_to(viewer).filter(job_id=job.pk, customer_id=job.customer_id).first()
    )
    if quote is None:
        return []
    return [
        Document(
            key=f"quote-revision:{revision.pk}",
            title=f"Quote {quote.reference}, revision {revision.number}",
            total=str(revision.content.get("total_without_options", "")),
            currency=quote.currency,
            portal_url=reverse("portal:quotes"),
        )
        for revision in quote.revisions.order_by("-number")
    ]


def job_page_quote(job: Job, viewer: Viewer | None) -> JobPageSection | None:
    """The job page's "From quote" section, for viewers who may see the quote (jobs.hooks)."""
    if not job.workspace.module_quotes:
        return None
    quotes = _JOB_QUOTE.list(viewer=viewer, job_id=job.pk)
    if not quotes:
        return None
    return JobPageSection(template="quotes/_job_quote.html", context={"quote": quotes[0]})


def is_following(quote: Quote, user: User) -> bool:
    return QuoteFollower.objects.filter(quote=quote, user=user).exists()


def quote_for_member(user: User, quote_id: int) -> Quote | None:
    """The quote as a member sees it now (an e-mail written for them earlier asks this before
    it goes): None once they left its workspace or their role no longer sees it."""
    workspace_id = Quote.objects.filter(pk=quote_id).values_list("workspace_id", flat=True)
    membership = (
        Membership.objects.active()
        .filter(workspace_id__in=workspace_id, user=user, user__is_active=True)
        .first()
    )
    if membership is None:
        return None
    return (
        Quote.objects.visible_to(member_viewer(membership))
        .select_related("workspace")
        .filter(pk=quote_id)
        .first()
    )


def told_of_decision(quote: Quote) -> list[User]:
    """Who hears that the customer accepted or declined a quote: its owner and its
    followers, each only while they are an active member to whom the quote is visible
    (Quote.visible_to: a follower moved to Staff hears nothing). With no such owner (none,
    or one who left or no longer sees it), the workspace's Admins hear in the owner's
    place. In a fixed order (owner first), each person once."""
    wanted = [quote.owner_id] if quote.owner_id else []
    wanted += (
        QuoteFollower.objects.filter(quote=quote).order_by("pk").values_list("user_id", flat=True)
    )
    memberships = {
        m.user_id: m
        for m in Membership.objects.active()
        .filter(workspace_id=quote.workspace_id, user_id__in=wanted, user__is_active=True)
        .select_related("user")
    }

    def sees_it(membership: Membership) -> bool:
        viewer = member_viewer(membership)
        return Quote.objects.visible_to(viewer).filter(pk=quote.pk).exists()

    told = {
        user_id: memberships[user_id].user
        for user_id in wanted
        if user_id in memberships and sees_it(memberships[user_id])
    }
    if quote.owner_id not in told:
        for admin in (
            Membership.objects.active()
            .filter(workspace_id=quote.workspace_id, role=Role.ADMIN, user__is_active=True)
            .select_related("user")
            .order_by("pk")
        ):
            told.setdefault(admin.user_id, admin.user)
    return list(told.values())
