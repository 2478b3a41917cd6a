"""Photos as Jobline stores them: decoded by the one Pillow plugin of their sniffed format,
turned upright (EXIF orientation) and re-encoded with no EXIF or XMP at all — so a photo never
carries its GPS position — HEIC turned into JPEG (browsers cannot show HEIC), and a thumbnail
of at most 480 px for galleries and the feed.

This module knows images only; file_inspection.py decides what is an image and turns the
exceptions below into the messages people read."""

from __future__ import annotations

import logging
import math
import tempfile
from dataclasses import dataclass, field
from typing import IO, Any

import pillow_heif
from django.core.files import File
from PIL import Image, ImageOps

logger = logging.getLogger(__name__)

# Registering is idempotent; doing it at import means any process that can store an upload
# (web, worker, shell) can also read HEIC.
pillow_heif.register_heif_opener()

MB = 1024 * 1024
THUMBNAIL_MAX_PX = 480
# Re-encoded images stay in memory up to this size, then spill to a temporary file, so a
# batch of large photos does not have to fit in RAM at once.
SPOOL_MAX_BYTES = 2 * MB
# Metadata that describes how to draw the pixels, not where or by whom they were taken.
# Everything else (exif, xmp, comments, text chunks) is dropped before re-encoding.
PIXEL_INFO_KEYS = frozenset(
    {"icc_profile", "transparency", "duration", "loop", "background", "disposal", "blend"}
)


class TooManyPixels(Exception):
    """More pixels (across all frames) than Pillow's decompression-bomb limit."""


class UnreadableImage(Exception):
    """The decoder could not read it: damaged, truncated or hostile."""


@dataclass
class PreparedImage:
    """A re-encoded image and its thumbnail, ready to store."""

    pil_format: str  # what is stored: JPEG, PNG, GIF or WEBP
    content: File
    size: int
    thumbnail: File
    thumbnail_extension: str
    buffers: list[IO[bytes]] = field(default_factory=list, repr=False)

    def close(self) -> None:
        for buffer in self.buffers:
            buffer.close()


def prepare(upload: File, *, pil_format: str, animated: bool) -> PreparedImage:
    """Decode with ``pil_format``'s plugin only, and re-encode. Raises TooManyPixels or
    UnreadableImage; the upload is left at its start either way."""
    upload.seek(0)
    buffers: list[IO[bytes]] = []
    try:
        # Only the sniffed format's decoder may open it: a file cannot be smuggled to a
        # different (less hardened) Pillow plugin.
        with Image.open(upload, formats=[pil_format]) as image:
            frames = getattr(image, "n_frames", 1) if animated else 1
            # Pillow's own bomb check is per frame; an animation multiplies the work.
            if image.width * image.height * frames > (Image.MAX_IMAGE_PIXELS or math.inf):
                raise Image.DecompressionBombError("too many pixels across frames")
            image.load()
            if frames > 1:
                stored_format, stored = pil_format, _encode_animation(image, pil_format, buffers)
                image.seek(0)
                still = image.copy()
            else:
                still = ImageOps.exif_transpose(image)
                stored_format, stored = _encode_still(still, pil_format, buffers)
            thumbnail, thumbnail_extension = _thumbnail(still, buffers)
    except Image.DecompressionBombError as error:
        _close(buffers)
        raise TooManyPixels() from error
    except Exception as error:
        # Decoders report damaged or hostile input with many exception types (OSError,
        # SyntaxError, ValueError, struct.error, IndexError…); all mean "cannot read it".
        _close(buffers)
        logger.info("An image upload was refused as unreadable", exc_info=True)
        raise UnreadableImage() from error
    finally:
        upload.seek(0)
    return PreparedImage(
        pil_format=stored_format,
        content=stored,
        size=stored.size,
        thumbnail=thumbnail,
        thumbnail_extension=thumbnail_extension,
        buffers=buffers,
    )


def _encode_still(
    upright: Image.Image, pil_format: str, buffers: list[IO[bytes]]
) -> tuple[str, File]:
    """The photo as stored: already upright, re-encoded with no EXIF, XMP or comments, so
    no location (or camera serial, or owner name) survives."""
    upright.info = _pixel_info(upright.info)
    icc = {"icc_profile": upright.info["icc_profile"]} if "icc_profile" in upright.info else {}
    if pil_format == "HEIF":
        return "JPEG", _encode(_flatten(upright), "JPEG", buffers, quality=90, **icc)
    if pil_format == "JPEG":
        image = upright if upright.mode in ("RGB", "L", "CMYK") else upright.convert("RGB")
        return "JPEG", _encode(image, "JPEG", buffers, quality=90, **icc)
    if pil_format == "WEBP":
        return "WEBP", _encode(upright, "WEBP", buffers, quality=90, **icc)
    return pil_format, _encode(upright, pil_format, buffers)


def _encode_animation(image: Image.Image, pil_format: str, buffers: list[IO[bytes]]) -> File:
    """Animations keep their frames. GIF has no EXIF, and Pillow writes none (nor XMP) to
    an animated WebP unless asked; an empty comment stops the GIF writer copying one over."""
    image.info = _pixel_info(image.info)
    return _encode(image, pil_format, buffers, save_all=True, comment=b"")


def _thumbnail(still: Image.Image, buffers: list[IO[bytes]]) -> tuple[File, str]:
    # In place: the full-size still has been stored already and is not needed any more.
    still.thumbnail((THUMBNAIL_MAX_PX, THUMBNAIL_MAX_PX))
    if still.has_transparency_data:
        # Keeps transparent logos and screenshots transparent; JPEG would blacken them.
        thumb, fmt, extension, params = still.convert("RGBA"), "PNG", ".png", {}
    else:
        thumb, fmt, extension, params = still.convert("RGB"), "JPEG", ".jpg", {"quality": 85}
    thumb.info = {}
    return _encode(thumb, fmt, buffers, **params), extension


def _flatten(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparent areas become white rather than black."""
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _pixel_info(info: dict[Any, Any]) -> dict[Any, Any]:
    return {key: value for key, value in info.items() if key in PIXEL_INFO_KEYS}


def _encode(image: Image.Image, fmt: str, buffers: list[IO[bytes]], **params: Any) -> File:
    buffer = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_BYTES)  # noqa: SIM115
    buffers.append(buffer)
    image.save(buffer, format=fmt, **params)
    size = buffer.tell()
    buffer.seek(0)
    encoded = File(buffer)
    encoded.size = size
    return encoded


def _close(buffers: list[IO[bytes]]) -> None:
    for buffer in buffers:
        buffer.close()
