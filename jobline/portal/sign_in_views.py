"""The portal's sign-in pages: ask for a link, use it, sign out."""

from __future__ import annotations

from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from jobline.accounts.forms import client_ip
from jobline.portal import sign_in as services
from jobline.portal.forms import LinkRequestForm


def sign_in(request: HttpRequest) -> HttpResponse:
    """Ask for a sign-in link. The answer is the same whether or not the address has access."""
    form = LinkRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.signin_link_request(
                email=form.cleaned_data["email"],
                ip_address=client_ip(request),
                build_url=lambda token: request.build_absolute_uri(
                    reverse("portal:sign_in_link", args=[token])
                ),
            )
        except services.LinkThrottled as throttled:
            form.add_error(None, throttled.message)
            return render(request, "portal/sign_in.html", {"form": form}, status=429)
        return render(request, "portal/link_sent.html", {"email": form.cleaned_data["email"]})
    status = 400 if request.method == "POST" else 200
    return render(request, "portal/sign_in.html", {"form": form}, status=status)


def sign_in_link(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the e-mail. A GET only shows a button: mail scanners that open links
    must not use up the single use."""
    if request.method == "POST":
        try:
            user = services.signin_link_use(token=token)
        except services.LinkUnusable as unusable:
            return render(
                request,
                "portal/sign_in.html",
                {"form": LinkRequestForm(), "link_error": unusable.message},
                status=410,
            )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("portal:jobs")
    if not services.signin_link_is_usable(token=token):
        return render(
            request,
            "portal/sign_in.html",
            {"form": LinkRequestForm(), "link_error": services.LinkUnusable.message},
            status=410,
        )
    return render(request, "portal/sign_in_confirm.html")


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("portal:sign_in")
