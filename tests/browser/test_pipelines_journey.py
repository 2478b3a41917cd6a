"""An Admin starts a pipeline from the "Device repair" template, reorders its stages by
dragging and with the Move up button, adds a dropdown field to a stage's job form and deletes
a stage that holds jobs; every pipelines page fits a 375 px phone."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

from jobline.jobs.services import job_create
from jobline.pipelines.models import Pipeline, Stage
from tests.browser.conftest import PHONE_WIDTH, Screenshot, scroll_width, set_width
from tests.conftest import Cast

SignIn = Callable[[str], None]

REPAIR_STAGES = [
    "Drop-off",
    "Diagnosis",
    "Quote",
    "Approval",
    "Awaiting parts",
    "Fix",
    "Ready for pickup",
    "Collected",
    "Returned unrepaired",
]


def stage_names(page: Page) -> Locator:
    return page.locator("#stage-list .pl-stage-name")


def row(page: Page, name: str) -> Locator:
    return page.locator("#stage-list .pl-stage-row").filter(
        has=page.get_by_role("link", name=name, exact=True)
    )


def saved_order(pipeline: Pipeline) -> list[str]:
    return list(
        Stage.objects.filter(pipeline=pipeline, deleted_at__isnull=True)
        .order_by("position", "id")
        .values_list("name", flat=True)
    )


def test_admin_builds_a_repair_pipeline_and_reorders_it_by_drag_and_by_button(
    page: Page, cast: Cast, sign_in: SignIn, screenshot: Screenshot
) -> None:
    sign_in(cast.admin.email)
    page.goto("/jobs/pipelines/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Pipelines")
    page.get_by_role("link", name="New pipeline").first.click()

    # From a template: the chooser previews each template's stages.
    expect(page.get_by_role("heading", level=1)).to_have_text("New pipeline")
    repair_choice = page.get_by_role("radio", name=re.compile(r"^Device repair"))
    repair_choice.check()
    expect(page.get_by_label(re.compile(r"^Name")).first).to_have_attribute(
        "placeholder", "Device repair"
    )
    screenshot(page, "pipelines-new")
    page.get_by_role("button", name="Create from template").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Device repair")
    expect(page.get_by_role("status").first).to_contain_text("created from the template")
    expect(stage_names(page)).to_have_text(REPAIR_STAGES)
    pipeline = Pipeline.objects.get(workspace=cast.workspace)
    # The internal stage is marked with the amber chip and its lock.
    expect(row(page, "Awaiting parts").locator(".chip-internal svg")).to_have_count(1)
    expect(row(page, "Diagnosis")).to_contain_text("Customer sees “Being checked”")
    screenshot(page, "pipelines-editor")

    # A real drag: Fix's handle dropped on the top half of Quote puts Fix before Quote.
    quote = row(page, "Quote")
    row(page, "Fix").locator(".pl-drag-handle").drag_to(quote, target_position={"x": 120, "y": 4})
    expect(page.locator("#stage-status")).to_contain_text("Moved Fix.")
    dragged = ["Drop-off", "Diagnosis", "Fix", "Quote", "Approval", "Awaiting parts"]
    expect(stage_names(page)).to_have_text([*dragged, *REPAIR_STAGES[6:]])
    page.reload()
    expect(stage_names(page)).to_have_text([*dragged, *REPAIR_STAGES[6:]])
    assert saved_order(pipeline)[:6] == dragged

    # Dragging below the middle of a row drops after it.
    row(page, "Drop-off").locator(".pl-drag-handle").drag_to(
        row(page, "Diagnosis"),
        target_position={"x": 120, "y": row(page, "Diagnosis").bounding_box()["height"] - 4},
    )
    expect(page.locator("#stage-status")).to_contain_text("Moved Drop-off.")
    expect(stage_names(page).first).to_have_text("Diagnosis")
    assert saved_order(pipeline)[:2] == ["Diagnosis", "Drop-off"]

    # The keyboard alternative: Move up is a plain form post.
    page.get_by_role("button", name="Move Approval up").click()
    expect(page.get_by_role("status").first).to_contain_text("Moved Approval up.")
    expected = [
        "Diagnosis",
        "Drop-off",
        "Fix",
        "Approval",
        "Quote",
        "Awaiting parts",
        *REPAIR_STAGES[6:],
    ]
    expect(stage_names(page)).to_have_text(expected)
    page.reload()
    expect(stage_names(page)).to_have_text(expected)
    assert saved_order(pipeline) == expected
    expect(page.get_by_role("button", name="Move Diagnosis up")).to_be_disabled()

    # The stage page: settings and the job form; a dropdown field asks for its choices.
    page.get_by_role("link", name="Edit Diagnosis").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Diagnosis")
    chip = page.locator(".page-header .chip-stage")
    expect(chip).to_have_css("background-color", "rgb(37, 99, 235)")  # #2563eb
    expect(chip).to_have_css("color", "rgb(255, 255, 255)")
    choices = page.get_by_label(re.compile(r"^Choices"))
    expect(choices).to_be_hidden()
    page.get_by_label("Label", exact=True).fill("Screen condition")
    page.get_by_label("Type").select_option("Dropdown")
    expect(choices).to_be_visible()
    page.get_by_role("button", name="Add field").click()
    expect(page.locator("#add-field ~ form .field-invalid").get_by_role("alert")).to_have_text(
        "A dropdown needs at least one choice, one per line."
    )
    expect(page.get_by_label("Label", exact=True)).to_have_value("Screen condition")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "pipelines-stage-error")
    page.get_by_label(re.compile(r"^Choices")).fill("Intact\nCracked\nShattered")
    page.get_by_role("button", name="Add field").click()
    expect(page.get_by_role("status").first).to_contain_text("Field Screen condition added")
    expect(page.locator("#job-form tbody tr")).to_have_count(4)
    expect(page.locator("#job-form tbody tr").last).to_contain_text("Intact, Cracked, Shattered")
    page.evaluate("window.scrollTo(0, 0)")  # the anchor scrolled it; show the whole page
    screenshot(page, "pipelines-stage")

    # Deleting a stage that holds jobs moves them first, in the same step.
    quote = Stage.objects.get(pipeline=pipeline, name="Quote")
    for title in ("Cracked screen", "Battery swap"):
        job_create(
            workspace=cast.workspace, pipeline=pipeline, title=title, actor=cast.admin, stage=quote
        )
    page.goto(f"/jobs/pipelines/{pipeline.pk}/")
    expect(row(page, "Quote")).to_contain_text("2 jobs")
    row(page, "Quote").get_by_role("link", name="Delete Quote").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete stage Quote?")
    expect(page.get_by_text("2 jobs are in Quote.")).to_be_visible()
    page.get_by_role("button", name="Move jobs and delete stage").click()
    expect(page.get_by_role("alert")).to_have_text(
        "2 jobs are in this stage. Choose where they go."
    )
    page.get_by_label("Move its jobs to").select_option("Approval")
    screenshot(page, "pipelines-stage-delete")
    page.get_by_role("button", name="Move jobs and delete stage").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Stage Quote deleted; 2 jobs moved to Approval."
    )
    expect(row(page, "Approval")).to_contain_text("2 jobs")
    expect(stage_names(page)).to_have_count(len(REPAIR_STAGES) - 1)

    # Every page fits a phone.
    set_width(page, PHONE_WIDTH)
    stage_page = (
        f"/jobs/pipelines/stages/{Stage.objects.get(pipeline=pipeline, name='Diagnosis').pk}/"
    )
    for path in (
        "/jobs/pipelines/",
        "/jobs/pipelines/new/",
        f"/jobs/pipelines/{pipeline.pk}/",
        stage_page,
        f"{stage_page}delete/",
    ):
        page.goto(path)
        assert scroll_width(page) <= PHONE_WIDTH, f"{path} scrolls sideways at {PHONE_WIDTH}px"
