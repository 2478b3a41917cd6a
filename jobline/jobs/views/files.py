"""Serving job files to staff. Files never sit under a public URL: every byte goes through
these views, which check the workspace, and an id from another workspace is a 404."""

from __future__ import annotations

from django.conf import settings
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponseNotAllowed
from django.http.response import HttpResponseBase
from django.utils.cache import patch_cache_control

from jobline.jobs.selectors import attachment_of_workspace
from jobline.workspaces.models import Module
from jobline.workspaces.permissions import module_required
from jobline.workspaces.viewers import request_viewer

SAFE_METHODS = ("GET", "HEAD")


@module_required(Module.JOBS)
def attachment_download(request: HttpRequest, attachment_id: int) -> HttpResponseBase:
    """The file itself: images open in the browser, everything else downloads."""
    # Looked up before the method check, so a POST to another workspace's id is a 404 as
    # well, not a 405 that confirms the id exists.
    attachment = attachment_of_workspace(
        viewer=request_viewer(request), attachment_id=attachment_id
    )
    if request.method not in SAFE_METHODS:
        return HttpResponseNotAllowed(SAFE_METHODS)
    return serve_stored_file(
        attachment.file,
        content_type=attachment.content_type,
        filename=attachment.original_name,
        inline=attachment.is_image,
    )


@module_required(Module.JOBS)
def attachment_thumbnail(request: HttpRequest, attachment_id: int) -> HttpResponseBase:
    """The small version of an image, for galleries and the feed; other files have none."""
    attachment = attachment_of_workspace(
        viewer=request_viewer(request), attachment_id=attachment_id
    )
    if request.method not in SAFE_METHODS:
        return HttpResponseNotAllowed(SAFE_METHODS)
    if not attachment.thumbnail:
        raise Http404("This file has no thumbnail.")
    is_png = attachment.thumbnail.name.lower().endswith(".png")
    return serve_stored_file(
        attachment.thumbnail,
        content_type="image/png" if is_png else "image/jpeg",
        filename=_thumbnail_name(attachment.original_name, ".png" if is_png else ".jpg"),
        inline=True,
    )


def serve_stored_file(
    stored: FieldFile, *, content_type: str, filename: str, inline: bool
) -> FileResponse:
    try:
        handle = stored.storage.open(stored.name, "rb")
    except FileNotFoundError:
        # The row outlived its file (restored database, lost volume): nothing to serve.
        raise Http404("This file is no longer stored.") from None
    if content_type.startswith("text/"):
        # Text was checked to be UTF-8 on upload; saying so stops browsers guessing.
        content_type = f"{content_type}; charset=utf-8"
    # FileResponse writes Content-Disposition safely for any name (quotes escaped, non-ASCII
    # names as RFC 5987 filename*), and the name was cleaned of control characters on upload.
    response = FileResponse(
        handle, as_attachment=not inline, filename=filename, content_type=content_type
    )
    # The type we sniffed is the only type: the browser must not second-guess it.
    response["X-Content-Type-Options"] = "nosniff"
    # Should a file ever be rendered as a document, it runs no script and has no origin.
    response["Content-Security-Policy"] = f"{settings.CONTENT_SECURITY_POLICY}; sandbox"
    # Files belong to a workspace: only the person's own browser may keep a copy.
    patch_cache_control(response, private=True, max_age=3600)
    return response


def _thumbnail_name(original: str, extension: str) -> str:
    stem = original.rsplit(".", 1)[0] if "." in original else original
    return f"{stem} (thumbnail){extension}"
