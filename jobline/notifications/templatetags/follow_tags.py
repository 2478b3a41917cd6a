"""The "Follow" button of the staff job page."""

from __future__ import annotations

from typing import Any

from django import template

from jobline.jobs.models import Job
from jobline.notifications.services import is_following

register = template.Library()


@register.inclusion_tag("notifications/_follow_button.html", takes_context=True)
def follow_button(context: dict[str, Any], job: Job) -> dict[str, Any]:
    user = context["request"].user
    is_owner = job.owner_id == user.pk
    return {
        "job": job,
        "is_owner": is_owner,
        "following": not is_owner and is_following(job=job, user=user),
        "csrf_token": context.get("csrf_token"),
    }
