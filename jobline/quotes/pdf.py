"""A quote's PDF: the same HTML template as its page (quotes/_document.html, inside
quotes/pdf.html), printed by WeasyPrint. WeasyPrint needs Pango on the system (Debian:
libpango-1.0-0 and libpangoft2-1.0-0; README)."""

from __future__ import annotations

from PIL import ImageFile
from weasyprint import HTML

# Importing WeasyPrint switches on Pillow's LOAD_TRUNCATED_IMAGES for the whole process, which
# would let a damaged upload pass as a photo (jobs/file_inspection.py refuses them; its test
# caught this). Quote documents hold no images, so it goes back off.
ImageFile.LOAD_TRUNCATED_IMAGES = False


def render(html: str) -> bytes:
    # No base URL: the document has its styles inline and loads nothing from anywhere.
    return HTML(string=html, base_url=None).write_pdf()
