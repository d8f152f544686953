from functools import lru_cache

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from bloom.exceptions import ApplicationError

from . import selectors, services
from .calendar_views import calendar_section
from .dashboard import panels
from .forms import (
    ONBOARDING_FORMS,
    ONBOARDING_TITLES,
    DataRequestForm,
    PauseForm,
    PreferencesForm,
    ProfileForm,
    timezone_names,
)
from .models import DataRequestKind
from .services import ONBOARDING_STEPS


def _member_profile(member):
    """The member's profile; a user created outside sign-up (shell, fixtures) gets its rows now."""
    return selectors.profile_get_for_member(member=member) or services.member_records_ensure(user=member)


def _member_preferences(member):
    return selectors.preferences_get_for_member(member=member) or (
        services.member_records_ensure(user=member) and selectors.preferences_get_for_member(member=member)
    )


@lru_cache(maxsize=1)
def _timezone_datalist() -> str:
    """The zone names' <datalist> for the time-zone field, rendered once a process (600 options)."""
    return render_to_string("accounts/_timezone_datalist.html", {"timezone_names": timezone_names()})


@login_not_required
def home(request):
    if request.user.is_authenticated:
        return redirect("accounts:dashboard")
    return render(request, "home.html")


@login_required
def dashboard(request):
    member = request.user
    profile = _member_profile(member)
    if not profile.onboarding_completed:
        return redirect("accounts:onboarding")
    sections = [(panel, context) for panel in panels() if not (context := panel.context(member)).get("hidden")]
    return render(
        request,
        "accounts/dashboard.html",
        {"sections": sections, "profile": profile, "pause": selectors.member_pause_get_active(member=member)},
    )


def _profile_initial(profile) -> dict:
    return {
        "first_name": profile.first_name or profile.user.first_name,
        "last_name": profile.last_name or profile.user.last_name,
        "preferred_name": profile.preferred_name,
        "phone": profile.phone,
        "stage": profile.stage,
        "due_date": profile.due_date,
        "baby_birth_date": profile.baby_birth_date,
        "topics": profile.topics,
        "timezone": profile.timezone,
    }


@login_required
def onboarding(request):
    member = request.user
    profile = _member_profile(member)
    if profile.onboarding_completed:
        return redirect("accounts:dashboard")
    resume_at = min(profile.onboarding_step + 1, ONBOARDING_STEPS)
    try:
        step = int(request.POST.get("step") or request.GET.get("step") or resume_at)
    except ValueError:
        step = resume_at
    step = max(1, min(step, resume_at))  # a member may go back, never skip ahead
    form_class = ONBOARDING_FORMS[step]
    preferences = _member_preferences(member) if step == ONBOARDING_STEPS else None
    if request.method == "POST":
        form = form_class(request.POST, instance=preferences) if preferences else form_class(request.POST)
        if form.is_valid():
            services.onboarding_step_save(member=member, step=step, data=form.cleaned_data, request=request)
            if step == ONBOARDING_STEPS:
                messages.success(request, "You're all set. Welcome to Bloom!")
                return redirect("accounts:dashboard")
            return redirect(f"{reverse('accounts:onboarding')}?step={step + 1}")
        messages.error(request, "Please check the highlighted fields.")
    elif preferences is not None:
        form = form_class(instance=preferences)
    else:
        form = form_class(initial=_profile_initial(profile))
    return render(
        request,
        "accounts/onboarding.html",
        {
            "form": form,
            "step": step,
            "steps": range(1, ONBOARDING_STEPS + 1),
            "step_total": ONBOARDING_STEPS,
            "step_title": ONBOARDING_TITLES[step],
            "timezone_datalist": _timezone_datalist() if step == 3 else "",
        },
    )


@login_required
def profile(request):
    member = request.user
    profile_row = _member_profile(member)
    preferences = _member_preferences(member)
    profile_form = ProfileForm(initial=_profile_initial(profile_row), prefix="profile")
    preferences_form = PreferencesForm(instance=preferences, prefix="prefs")
    if request.method == "POST":
        if request.POST.get("form") == "preferences":
            preferences_form = PreferencesForm(request.POST, instance=preferences, prefix="prefs")
            if preferences_form.is_valid():
                services.preferences_update(member=member, data=preferences_form.cleaned_data, request=request)
                messages.success(request, "Your notification preferences are saved.")
                return redirect("accounts:profile")
        else:
            profile_form = ProfileForm(request.POST, prefix="profile")
            if profile_form.is_valid():
                services.profile_update(member=member, data=profile_form.cleaned_data)
                messages.success(request, "Your profile is saved.")
                return redirect("accounts:profile")
        messages.error(request, "Please check the highlighted fields.")
    return render(
        request,
        "accounts/profile.html",
        {
            "profile_form": profile_form,
            "preferences_form": preferences_form,
            "achievements": selectors.achievement_list_for_member(member=member),
            "timezone_datalist": _timezone_datalist(),
        },
    )


@login_required
def pause(request):
    """Take a break ("life happened"): one click to start, one click to come back."""
    member = request.user
    form = PauseForm()
    if request.method == "POST":
        form = PauseForm(request.POST)
        if form.is_valid():
            try:
                taken = services.member_pause_start(
                    member=member, weeks=form.cleaned_data["weeks"], reason=form.cleaned_data["reason"]
                )
            except ApplicationError as error:
                messages.error(request, error.message)
            else:
                messages.success(
                    request,
                    f"Your break has started. Take all the time you need: we'll pick up again on "
                    f"{timezone.localtime(taken.ends_at):%A %-d %B}.",
                )
                return redirect("accounts:pause")
    return render(
        request,
        "accounts/pause.html",
        {"form": form, "pause": selectors.member_pause_get_active(member=member)},
    )


@login_required
@require_POST
def pause_end(request):
    if services.member_pause_end(member=request.user) is not None:
        messages.success(request, "Welcome back. Everything carries on from where you left it.")
    return redirect("accounts:dashboard")


@login_required
@require_POST
def care_assignment_done(request, assignment_id):
    """She puts a suggestion away; another member's id changes nothing."""
    if services.care_assignment_archive(member=request.user, assignment_id=assignment_id):
        messages.success(request, "Put away. Your therapist still knows they suggested it.")
    return redirect("accounts:dashboard")


@login_required
@require_POST
def care_progress_share(request):
    shared = request.POST.get("shared") == "1"
    if services.care_progress_share_set(member=request.user, shared=shared, request=request):
        messages.success(
            request,
            "Your therapist can now see your progress on what they suggested."
            if shared
            else "Your progress is private again.",
        )
    return redirect("accounts:dashboard")


@login_required
def security(request):
    return render(
        request,
        "accounts/security.html",
        {
            "data_requests": selectors.data_request_list_for_member(member=request.user),
            "kinds": DataRequestKind,
            "calendar": calendar_section(request),
        },
    )


@login_required
@require_POST
def data_request_create(request):
    form = DataRequestForm(request.POST)
    if form.is_valid():
        try:
            services.data_request_create(member=request.user, kind=form.cleaned_data["kind"])
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Thank you. Our team will process your request within 30 days.")
    elif "kind" in form.errors:
        messages.error(request, "That request type is not available.")
    else:
        messages.error(request, " ".join(form.non_field_errors()))
    return redirect("accounts:security")


@login_required
def data_request_download(request, request_id):
    data_request = selectors.data_request_export_get_for_member(member=request.user, request_id=request_id)
    # A zip: one JSON file per kind of record, her files, and a plain-language summary.html.
    response = HttpResponse(selectors.member_data_zip(archive=data_request.export_data), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="bloom-data-{data_request.requested_at:%Y%m%d}.zip"'
    return response
