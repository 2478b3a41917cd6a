"""Jobs in a real browser: create a job, drag its card to the next column, meet the
required-fields dialog and fill it, and post a note and a reply that look different."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from jobline.jobs.models import Job
from jobline.pipelines.models import Pipeline
from jobline.pipelines.services import pipeline_create_from_blueprint
from tests.browser.conftest import Screenshot, scroll_width
from tests.conftest import Cast


def make_repair_pipeline(cast: Cast) -> Pipeline:
    return pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="repair", actor=cast.admin
    )


def test_create_a_job_drag_it_meet_the_dialog_and_fill_it(
    page: Page, cast: Cast, sign_in: Callable[..., None], screenshot: Screenshot
) -> None:
    pipeline = make_repair_pipeline(cast)
    sign_in(cast.staff.email)

    page.goto("/jobs/new/")
    page.get_by_label("Title").fill("Pixel 8 cracked back")
    page.get_by_label("Pipeline").select_option(label="Device repair")
    page.locator("#id_customer").select_option(label="Priya Natarajan")
    page.get_by_role("button", name="Create job").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pixel 8 cracked back")
    job = Job.objects.get(title="Pixel 8 cracked back")
    assert job.owner == cast.staff  # default: me

    page.goto(f"/jobs/board/{pipeline.pk}/")
    card = page.locator(f"#job-card-{job.number}")
    drop_off = page.locator(".board-column", has=page.get_by_role("heading", name="Drop-off"))
    diagnosis = page.locator(".board-column", has=page.get_by_role("heading", name="Diagnosis"))
    expect(drop_off.locator(f"#job-card-{job.number}")).to_be_visible()

    card.drag_to(diagnosis.locator(".board-cards"))
    dialog = page.locator("#move-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_contain_text("moves to Diagnosis")
    screenshot(page, "board-required-fields-dialog")

    dialog.get_by_role("button", name="Save and move").click()  # empty: refused in place
    expect(dialog.locator(".error")).to_be_visible()
    dialog.get_by_label("Device").fill("Pixel 8")
    dialog.get_by_role("button", name="Save and move").click()
    expect(dialog).to_be_hidden()
    expect(diagnosis.locator(f"#job-card-{job.number}")).to_be_visible()
    expect(diagnosis.locator("[data-count]")).to_have_text("1")
    expect(drop_off.locator("[data-count]")).to_have_text("0")
    expect(drop_off.locator(".board-empty")).to_have_text("No jobs")  # the column it left
    job.refresh_from_db()
    assert job.stage.name == "Diagnosis"

    # The keyboard / touch alternative: "Move to…" on the card (it submits on change).
    page.get_by_label(f"Move {job.reference} to").select_option(label="Drop-off")
    expect(drop_off.locator(f"#job-card-{job.number}")).to_be_visible()
    expect(drop_off.locator(".board-empty")).to_have_count(0)
    expect(diagnosis.locator(".board-empty")).to_have_text("No jobs")
    screenshot(page, "board")


def test_note_and_reply_are_posted_and_look_different(
    page: Page, cast: Cast, sign_in: Callable[..., None], screenshot: Screenshot
) -> None:
    from jobline.jobs.services import job_create

    pipeline = make_repair_pipeline(cast)
    job = job_create(
        workspace=cast.workspace, pipeline=pipeline, title="iPad charging port",
        actor=cast.admin, owner=cast.staff, customer=cast.customer,
    )  # fmt: skip
    sign_in(cast.staff.email)
    page.goto(f"/jobs/{job.number}/")

    send = page.locator(".composer-send")
    expect(send).to_have_text("Add internal note")
    page.get_by_label("Message").fill("Port is corroded, ordering a new one.")
    send.click()
    note = page.locator(".feed-message", has_text="Port is corroded")
    expect(note).to_have_class("feed-message is-internal")

    page.get_by_label("Reply to customer").check()
    expect(send).to_have_text("Send to customer")
    page.get_by_label("Message").fill("Your iPad will be ready on Friday.")
    send.click()
    reply = page.locator(".feed-message", has_text="ready on Friday")
    expect(reply).to_have_class("feed-message")
    entry = page.locator(".feed-entry", has=reply)
    expect(entry.locator(".chip-visible")).to_have_text("Visible")
    expect(page.locator(".feed-entry", has=note).locator(".chip-internal")).to_contain_text(
        "Internal"
    )
    note_bg = note.evaluate("el => getComputedStyle(el).backgroundColor")
    reply_bg = reply.evaluate("el => getComputedStyle(el).backgroundColor")
    assert note_bg != reply_bg
    screenshot(page, "job-page")


def test_upload_a_photo_and_see_its_thumbnail_and_full_size(
    page: Page, cast: Cast, sign_in: Callable[..., None], screenshot: Screenshot
) -> None:
    import io

    from PIL import Image

    from jobline.jobs.services import job_create

    pipeline = make_repair_pipeline(cast)
    job = job_create(
        workspace=cast.workspace, pipeline=pipeline, title="Cracked tablet", actor=cast.admin
    )
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), "#3b82f6").save(buffer, format="JPEG")
    sign_in(cast.staff.email)
    page.goto(f"/jobs/{job.number}/")

    page.get_by_label("Add files or photos").set_input_files(
        [{"name": "crack.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()}]
    )
    page.get_by_role("button", name="Upload").click()
    thumbnail = page.get_by_role("img", name="crack.jpg")
    expect(thumbnail).to_be_visible()
    # decode() waits for the (lazy-loaded) image instead of racing it.
    assert thumbnail.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0
    thumbnail.click()
    lightbox = page.locator("#lightbox")
    expect(lightbox).to_be_visible()
    expect(lightbox.locator("img")).to_have_attribute("alt", "crack.jpg")
    assert (
        lightbox.locator("img").evaluate("img => img.decode().then(() => img.naturalWidth)") == 800
    )
    page.keyboard.press("Escape")
    screenshot(page, "job-files")
    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    assert scroll_width(page) <= 375
    page.goto(f"/jobs/board/{pipeline.pk}/")
    assert scroll_width(page) <= 375


def test_copy_a_job_into_another_pipeline(
    page: Page, cast: Cast, sign_in: Callable[..., None], screenshot: Screenshot
) -> None:
    from jobline.jobs.services import job_create

    repair = make_repair_pipeline(cast)
    standard = pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="standard", actor=cast.admin
    )
    job = job_create(
        workspace=cast.workspace, pipeline=repair, title="Boiler service, not a repair",
        actor=cast.admin, customer=cast.customer,
    )  # fmt: skip
    sign_in(cast.admin.email)
    page.goto(f"/jobs/{job.number}/")
    page.get_by_role("link", name="Copy into another pipeline…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Copy {job.reference} into another pipeline"
    )
    page.get_by_role("button", name="Copy and archive").click()  # nothing chosen: refused
    expect(page.locator(".field-invalid")).to_contain_text("Choose the pipeline to copy")
    screenshot(page, "job-copy-error")
    page.get_by_label("Copy into").select_option(label=standard.name)
    page.get_by_role("button", name="Copy and archive").click()
    copy = Job.objects.get(copied_from=job)
    expect(page.locator(".toast")).to_contain_text(f"Copied into {standard.name}")
    expect(page).to_have_url(f"{page.url.split('/jobs/')[0]}/jobs/{copy.number}/")
    job.refresh_from_db()
    assert job.archived_at is not None and copy.pipeline == standard
