"""Photos as stored: no location, upright, HEIC as JPEG, a thumbnail, bombs refused
(jobline/jobs/images.py, through the upload services)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from jobline.jobs.file_inspection import UploadRejected, inspect_upload
from jobline.jobs.models import Job
from tests.conftest import Cast
from tests.jobs.upload_helpers import (
    GPS_IFD,
    GPS_XMP,
    ORIENTATION,
    add,
    gps_exif,
    image_bytes,
    reopen,
    stored_bytes,
    upload,
)

# --- photos: location, orientation, HEIC, thumbnails ----------------------------------------


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("JPEG", "photo.jpg"), ("PNG", "photo.png"), ("WEBP", "photo.webp"), ("HEIF", "IMG.HEIC")],
)
def test_photos_lose_their_gps_location(cast: Cast, job: Job, fmt: str, name: str) -> None:
    original = image_bytes(fmt, exif=gps_exif())
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the control
    attachment = add(job, cast.admin, name, original)
    stored = reopen(attachment.file)
    exif = stored.getexif()
    assert GPS_IFD not in exif
    assert not exif.get_ifd(GPS_IFD)
    assert "exif" not in stored.info
    assert b"Exif\x00\x00" not in stored_bytes(attachment.file)
    assert b"Exif\x00\x00" not in stored_bytes(attachment.thumbnail)


def test_a_jpeg_loses_gps_in_xmp_too(cast: Cast, job: Job) -> None:
    original = image_bytes("JPEG", exif=gps_exif(), xmp=GPS_XMP)
    assert b"GPSLatitude" in original  # the control
    attachment = add(job, cast.admin, "photo.jpg", original)
    assert b"GPSLatitude" not in stored_bytes(attachment.file)
    assert "xmp" not in reopen(attachment.file).info


def test_a_photo_taken_sideways_is_stored_upright(cast: Cast, job: Job) -> None:
    # Orientation 6: the camera was turned; viewers rotate 90° clockwise to show it.
    original = image_bytes("JPEG", size=(40, 20), exif=gps_exif(orientation=6))
    attachment = add(job, cast.admin, "sideways.jpg", original)
    stored = reopen(attachment.file)
    assert stored.size == (20, 40)
    assert ORIENTATION not in stored.getexif()


def test_heic_is_accepted_and_stored_as_jpeg_with_jpg_appended(cast: Cast, job: Job) -> None:
    attachment = add(job, cast.admin, "IMG_0001.HEIC", image_bytes("HEIF", size=(64, 32)))
    assert attachment.content_type == "image/jpeg"
    assert attachment.original_name == "IMG_0001.HEIC.jpg"
    assert attachment.file.name.endswith(".jpg")
    stored = reopen(attachment.file)
    assert (stored.format, stored.size) == ("JPEG", (64, 32))
    assert attachment.thumbnail


def test_a_big_photo_gets_a_480px_jpeg_thumbnail(cast: Cast, job: Job) -> None:
    attachment = add(job, cast.admin, "wall.jpg", image_bytes("JPEG", size=(1200, 800)))
    thumb = reopen(attachment.thumbnail)
    assert (thumb.format, thumb.size) == ("JPEG", (480, 320))
    assert reopen(attachment.file).size == (1200, 800)


def test_a_transparent_image_keeps_transparency_in_a_png_thumbnail(cast: Cast, job: Job) -> None:
    logo = image_bytes("PNG", size=(960, 960), mode="RGBA", color=(255, 0, 0, 0))
    attachment = add(job, cast.admin, "logo.png", logo)
    thumb = reopen(attachment.thumbnail)
    assert (thumb.format, thumb.mode, thumb.size) == ("PNG", "RGBA", (480, 480))
    assert attachment.thumbnail.name.endswith(".png")


def test_a_small_image_is_not_enlarged_for_its_thumbnail(cast: Cast, job: Job) -> None:
    attachment = add(job, cast.admin, "tiny.gif", image_bytes("GIF", size=(100, 50), mode="P"))
    assert reopen(attachment.thumbnail).size == (100, 50)


def test_an_animated_gif_keeps_its_frames(cast: Cast, job: Job) -> None:
    frames = [Image.new("RGB", (30, 30), color) for color in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(
        buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0
    )
    assert Image.open(io.BytesIO(buffer.getvalue())).n_frames == 3  # the control
    attachment = add(job, cast.admin, "spinner.gif", buffer.getvalue())
    stored = reopen(attachment.file)
    assert (stored.format, stored.n_frames) == ("GIF", 3)


def test_a_decompression_bomb_is_refused(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # The production limit (~89 megapixels) stays; a lower one makes a small bomb.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300)
    with pytest.raises(UploadRejected) as refused:
        inspect_upload(upload("huge.png", image_bytes("PNG", size=(40, 20))))
    assert refused.value.reason == UploadRejected.TOO_MANY_PIXELS
    assert refused.value.message == "huge.png has too many pixels for Jobline to process."


def test_an_animation_too_big_across_its_frames_is_refused(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = [Image.new("L", (20, 20), shade) for shade in range(0, 240, 40)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    assert Image.open(io.BytesIO(buffer.getvalue())).n_frames == 6  # the control
    # Each frame (400 px) is under the limit; all six (2,400 px) are not.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(UploadRejected) as refused:
        inspect_upload(upload("flood.gif", buffer.getvalue()))
    assert refused.value.reason == UploadRejected.TOO_MANY_PIXELS
