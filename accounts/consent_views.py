"""The privacy notice and terms pages (public), agreeing again to a new version, her consents page
with withdrawal, and the telehealth consent asked before a video session (docs/accounts.md "Consent")."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from . import services
from .consent import POLICIES
from .models import ConsentKind
from .selectors.consent import consent_overview_for_member, policies_to_agree
from .services.consent import WITHDRAWABLE


def _next_url(request, default: str) -> str:
    """Where to go after agreeing: the page she was on (same site only), else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _policy_page(request, kind: str):
    return render(request, POLICIES[kind].template, {"policy": POLICIES[kind]})


@login_not_required
def privacy(request):
    """The privacy notice, at its current version."""
    return _policy_page(request, ConsentKind.PRIVACY)


@login_not_required
def terms(request):
    """The terms of use, at its current version."""
    return _policy_page(request, ConsentKind.TERMS)


def policies_agree(request):
    """The terms or the privacy notice changed: she is asked to agree to the new version."""
    profile = getattr(request.user, "profile", None)
    pending = policies_to_agree(profile=profile)
    next_url = _next_url(request, reverse("accounts:dashboard"))
    if not pending:
        return redirect(next_url)
    error = ""
    if request.method == "POST":
        if request.POST.get("agree"):
            services.policies_agree(member=request.user, source="policy_update", request=request)
            messages.success(request, "Thank you. Your agreement is saved.")
            return redirect(next_url)
        error = "Please tick the box to agree, or sign out if you would rather not."
    return render(request, "accounts/policies_agree.html", {"pending": pending, "next": next_url, "error": error})


def consents(request):
    """Her consents as they stand, with a withdraw button where withdrawal is possible, and the history."""
    lines, records = consent_overview_for_member(member=request.user)
    return render(request, "accounts/consents.html", {"lines": lines, "records": records})


def consent_withdraw(request, what: str):
    """Confirm, then withdraw one consent (marketing, telehealth, sharing with her clinician)."""
    if what not in WITHDRAWABLE:
        raise Http404
    lines, _ = consent_overview_for_member(member=request.user)
    line = next(line for line in lines if line.key == what)
    if request.method == "POST":
        if services.consent_withdraw(member=request.user, what=what, request=request):
            messages.success(request, f"Done. “{line.title}” is withdrawn, from now on.")
        else:
            messages.info(request, f"“{line.title}” was already off, so nothing changed.")
        return redirect("accounts:consents")
    return render(request, "accounts/consent_withdraw.html", {"line": line})


@require_POST
def telehealth_consent(request):
    """She agreed to sessions by video (the form on her session page)."""
    next_url = _next_url(request, reverse("appointments:appointment_list"))
    if request.POST.get("agree"):
        services.telehealth_consent_give(member=request.user, request=request)
        messages.success(request, "Thank you. Your consent to video sessions is saved.")
    else:
        messages.error(request, "Please tick the box to agree to sessions by video.")
    return redirect(next_url)
