"""The board: a pipeline's columns, each loading its own cards, and "Show more"."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render

from jobline.jobs import selectors
from jobline.jobs.views.common import jobs_page, with_urls

PICKER_ID_DIGITS = 18  # more digits than any id of ours: not a pipeline, a 404


@jobs_page
def board_default(request: HttpRequest) -> HttpResponse:
    chosen = request.GET.get("pipeline", "")
    if chosen.isdigit() and len(chosen) <= PICKER_ID_DIGITS:  # the picker, without JavaScript
        pipeline = selectors.get_pipeline(workspace=request.workspace, pipeline_id=int(chosen))
        return redirect("jobs:board", pipeline_id=pipeline.pk)
    first = selectors.pipelines(workspace=request.workspace).first()
    if first is None:
        return render(request, "jobs/no_pipelines.html")
    return redirect("jobs:board", pipeline_id=first.pk)


@jobs_page
def board(request: HttpRequest, pipeline_id: int) -> HttpResponse:
    pipeline = selectors.get_pipeline(workspace=request.workspace, pipeline_id=pipeline_id)
    # The page draws the columns and counts; each column then loads its first 50 cards in
    # its own request (htmx), so no single response renders hundreds of cards. Without
    # JavaScript, "?cards=all" (linked in <noscript>) renders everything at once.
    all_cards = request.GET.get("cards") == "all"
    columns = selectors.board(pipeline=pipeline, with_cards=all_cards)
    with_urls((card for column in columns for card in column.cards), move=True)
    return render(
        request,
        "jobs/board.html",
        {
            "pipeline": pipeline,
            "columns": columns,
            "stages": [c.stage for c in columns],
            "move_stages": [c.stage for c in columns],
            # On phones one column shows at a time: start with the first that has work.
            "first_busy": next((c.stage.pk for c in columns if c.count), columns[0].stage.pk),
            "pipelines": list(selectors.pipelines(workspace=request.workspace)),
            "all_cards": all_cards,
        },
    )


@jobs_page
def board_column_more(request: HttpRequest, stage_id: int) -> HttpResponse:
    """A column's first cards, or the next ones after a (stage_entered_at, id) cursor."""
    stage = selectors.get_stage_of_workspace(workspace=request.workspace, stage_id=stage_id)
    after, after_id = request.GET.get("after", ""), request.GET.get("after_id", "")
    cursor = None
    if after or after_id:
        try:
            cursor = selectors.parse_time_and_id(after, after_id)
        except selectors.BadCursor:
            return HttpResponseBadRequest("This list position is not one of ours; reload.")
    cards = selectors.board_column_page(stage=stage, cursor=cursor)
    has_more = len(cards) > selectors.BOARD_PAGE_SIZE
    cards = cards[: selectors.BOARD_PAGE_SIZE]
    with_urls(cards, move=True)
    return render(
        request,
        "jobs/_board_cards.html",
        {
            "cards": cards,
            "single": False,
            "has_more": has_more,
            "stage": stage,
            "move_stages": selectors.live_stages(stage.pipeline_id),
        },
    )
