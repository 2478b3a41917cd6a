"""A stage's follow-ups (Admins, as the rest of the pipeline editor)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from jobline.followups import selectors, services
from jobline.followups.forms import rule_formset
from jobline.jobs.views.common import apply_errors
from jobline.pipelines.selectors import get_stage
from jobline.workspaces.models import Module
from jobline.workspaces.permissions import admin_required, module_required


@module_required(Module.JOBS)
@admin_required
@require_http_methods(["GET", "HEAD", "POST"])
def stage_follow_ups(request: HttpRequest, stage_id: int) -> HttpResponse:
    stage = get_stage(request.workspace, stage_id)
    if request.method != "POST":
        rows = rule_formset(rules=selectors.stage_rules(stage))
        return render(request, "followups/stage.html", {"stage": stage, "rows": rows})
    rows = rule_formset(request.POST)
    if rows.is_valid():
        filled = [form for form in rows.forms if form.to_row() is not None]
        try:
            services.stage_follow_ups_save(
                stage=stage, rows=[form.to_row() for form in filled], actor=request.user
            )
        except services.RuleError as error:
            if error.row is not None and error.row < len(filled):
                apply_errors(filled[error.row], error)
            else:
                rows.non_form_errors().extend(error.messages)
        else:
            messages.success(request, f"Follow-ups of {stage.name} saved.")
            return redirect("followups:stage", stage.pk)
    return render(request, "followups/stage.html", {"stage": stage, "rows": rows}, status=400)
