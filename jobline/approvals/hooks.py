"""What apps above approvals offer to be approved besides files: a quote's revision (the quotes
app). Approvals sits below them in the layers, so they register a source here (in their
AppConfig.ready) and the approval keeps a copy of what it was shown (Approval.document)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from jobline.jobs.models import Job
from jobline.workspaces.viewers import Viewer


@dataclass(frozen=True)
class Document:
    """One thing a customer can be asked to approve, as its own app describes it."""

    key: str  # the source's own id: "quote-revision:12"
    title: str  # "Quote Q-1004, revision 2"
    total: str  # what it comes to, a decimal as text ("" when nothing); shown through money()
    currency: str
    portal_url: str  # where the customer reads it in full

    def as_data(self) -> dict[str, Any]:
        return asdict(self)


DocumentSource = Callable[[Job, Viewer], list[Document]]
_sources: list[DocumentSource] = []


def offer_documents(source: DocumentSource) -> None:
    if source not in _sources:
        _sources.append(source)


def documents_of(job: Job, viewer: Viewer) -> list[Document]:
    """What the viewer may attach to the job's approval (each source asks its own rules)."""
    return [document for source in _sources for document in source(job, viewer)]


def document_of(job: Job, viewer: Viewer, key: str) -> Document | None:
    return next((d for d in documents_of(job, viewer) if d.key == key), None)
