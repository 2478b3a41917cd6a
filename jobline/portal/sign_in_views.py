"""The portal's sign-in pages: ask for a link, use it, sign out."""

from __future__ import annotations

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from jobline.accounts import selectors as account_selectors
from jobline.accounts import services as account_services
from jobline.accounts.forms import SignInLinkRequestForm
from jobline.accounts.models import SignInLinkScope
from jobline.accounts.sessions import sign_in_portal
from jobline.accounts.views import link_request_page
from jobline.portal import sign_in as services


def _sign_in_page(
    request: HttpRequest, form: SignInLinkRequestForm, *, status: int, link_error: str = ""
) -> HttpResponse:
    context = {"form": form, "link_error": link_error}
    return render(request, "portal/sign_in.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    """Ask for a sign-in link. The answer is the same whether or not the address has access."""
    return link_request_page(
        request,
        SignInLinkRequestForm(request.POST if request.method == "POST" else None),
        send=lambda email, ip_address: services.signin_link_request(
            email=email,
            ip_address=ip_address,
            build_url=lambda token: request.build_absolute_uri(
                reverse("portal:sign_in_link", args=[token])
            ),
        ),
        page=lambda form, status: _sign_in_page(request, form, status=status),
        sent_template="portal/link_sent.html",
    )


@require_http_methods(["GET", "HEAD", "POST"])
def sign_in_link(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the e-mail. A GET only shows a button: mail scanners that open links
    must not use up the single use. The session it opens is for the portal only."""
    unusable = account_services.LinkUnusable.message
    if request.method == "POST":
        try:
            user = account_services.signin_link_use(token=token, scope=SignInLinkScope.PORTAL)
        except account_services.LinkUnusable:
            return _sign_in_page(request, SignInLinkRequestForm(), status=410, link_error=unusable)
        sign_in_portal(request, user)
        return redirect("portal:jobs")
    if not account_selectors.signin_link_is_usable(token=token, scope=SignInLinkScope.PORTAL):
        return _sign_in_page(request, SignInLinkRequestForm(), status=410, link_error=unusable)
    return render(request, "portal/sign_in_confirm.html")


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("portal:sign_in")
