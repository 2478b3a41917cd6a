"""Sign-in (by password or by e-mailed link), sign-out and password reset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_http_methods

from jobline.accounts import selectors, services
from jobline.accounts.forms import (
    ResetPasswordForm,
    SignInForm,
    SignInLinkRequestForm,
    client_ip,
)
from jobline.accounts.models import SignInLinkScope
from jobline.accounts.sessions import is_portal_only, sign_in_full
from jobline.core.mail import MailNotSent

# Pages that show a form take GET and POST; everything else is answered 405.
FORM_METHODS = ["get", "head", "post"]


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True
    http_method_names = FORM_METHODS

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Someone in a portal-only session is here because a staff page needs their password:
        # show them the form, never bounce them back where they came from.
        self.redirect_authenticated_user = not is_portal_only(request)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        form = context.get("form")
        context["portal_only"] = is_portal_only(self.request)
        context["throttle"] = getattr(form, "throttle", None)
        context["email"] = form["username"].value() if form is not None else ""
        return context

    def form_invalid(self, form: SignInForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.throttle is not None:
            response.status_code = 429
            response["Retry-After"] = str(form.throttle.retry_after_seconds)
        else:
            response.status_code = 400
        return response


class SignOutView(auth_views.LogoutView):
    http_method_names = ["post"]


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")
    http_method_names = FORM_METHODS


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"
    http_method_names = ["get", "head"]


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    form_class = ResetPasswordForm
    success_url = reverse_lazy("accounts:password_reset_complete")
    http_method_names = FORM_METHODS

    def form_valid(self, form: SetPasswordForm) -> HttpResponse:
        response = super().form_valid(form)
        # The pause messages suggest a reset; a reset must therefore lift the pauses.
        services.signin_failures_clear(email=form.user.email)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
    http_method_names = ["get", "head"]


def link_request_page(
    request: HttpRequest,
    form: SignInLinkRequestForm,
    *,
    send: Callable[[str, str | None], None],
    page: Callable[[SignInLinkRequestForm, int], HttpResponse],
    sent_template: str,
) -> HttpResponse:
    """The answer to "e-mail me a sign-in link" (the staff page and the portal's): ``send``
    the link to the address typed, then say it was sent — whether or not it has an account.
    Too many requests: 429 with Retry-After; the e-mail could not go: 503, nothing saved."""
    if request.method != "POST":
        return page(form, 200)
    if not form.is_valid():
        return page(form, 400)
    try:
        send(form.cleaned_data["email"], client_ip(request))
    except services.LinkThrottled as throttled:
        form.add_error(None, throttled.message)
        response = page(form, 429)
        response["Retry-After"] = str(throttled.retry_after_seconds)
        return response
    except MailNotSent as not_sent:
        form.add_error(None, not_sent)
        return page(form, 503)
    return render(request, sent_template, {"email": form.cleaned_data["email"]})


@require_http_methods(["GET", "HEAD", "POST"])
def sign_in_link_request(request: HttpRequest) -> HttpResponse:
    """Ask for a staff sign-in link. It works while password sign-in is paused for the
    account."""
    return link_request_page(
        request,
        SignInLinkRequestForm(
            request.POST if request.method == "POST" else None,
            initial={"email": request.GET.get("email", "")[:254]},
        ),
        send=lambda email, ip_address: services.staff_signin_link_request(
            email=email,
            ip_address=ip_address,
            build_url=lambda token: request.build_absolute_uri(
                reverse("accounts:sign_in_link", args=[token])
            ),
        ),
        page=lambda form, status: render(
            request, "accounts/sign_in_link_request.html", {"form": form}, status=status
        ),
        sent_template="accounts/sign_in_link_sent.html",
    )


def _link_unusable(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/sign_in_link_request.html",
        {"form": SignInLinkRequestForm(), "link_error": services.LinkUnusable.message},
        status=410,
    )


@require_http_methods(["GET", "HEAD", "POST"])
def sign_in_link(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the e-mail. A GET only shows a button: mail scanners that open links
    must not use up the single use. The POST signs in to the whole account."""
    if request.method != "POST":
        if not selectors.signin_link_is_usable(token=token, scope=SignInLinkScope.STAFF):
            return _link_unusable(request)
        return render(request, "accounts/sign_in_link_confirm.html")
    try:
        user = services.signin_link_use(token=token, scope=SignInLinkScope.STAFF)
    except services.LinkUnusable:
        return _link_unusable(request)
    sign_in_full(request, user)
    return redirect("dashboard")
