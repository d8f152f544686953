"""Member pages for screening: what is offered, the questionnaire, the result, the timeline,
and the crisis resources page. Every read is fenced to the signed-in member."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from bloom.exceptions import ApplicationError

from . import selectors, services
from .screening import INSTRUMENTS, change_since, perinatal_week, week_label
from .screening_chart import timeline_charts
from .screening_forms import ScreeningForm
from .selectors import profile_get_for_member
from .services import member_records_ensure


def _profile(member):
    """Her profile; a user created outside sign-up (shell, fixtures) gets its rows now."""
    return profile_get_for_member(member=member) or member_records_ensure(user=member)


def _clinician_context(member) -> dict:
    return {
        "clinician": selectors.care_clinician_get_for_member(member=member),
        "care_team_email": settings.BLOOM_STAFF_ALERT_EMAIL,
    }


@login_required
def screening(request):
    member = request.user
    profile = _profile(member)
    return render(
        request,
        "accounts/screening_home.html",
        {
            "due": selectors.screening_due_list_for_member(member=member, profile=profile),
            "instruments": INSTRUMENTS.values(),
            "recent": selectors.screening_response_list_for_member(member=member, limit=5)[::-1],
            "profile": profile,
            "week": week_label(
                profile.stage,
                perinatal_week(
                    stage=profile.stage,
                    due_date=profile.due_date,
                    birth_date=profile.baby_birth_date,
                    on=selectors.member_today(profile=profile),
                ),
            ),
        },
    )


@login_required
def screening_take(request, instrument):
    questionnaire = INSTRUMENTS.get(instrument)
    if questionnaire is None:
        raise Http404("No such questionnaire")
    form = ScreeningForm(request.POST or None, instrument=questionnaire)
    if request.method == "POST":
        if form.is_valid():
            try:
                response = services.screening_submit(
                    member=request.user,
                    instrument=questionnaire.key,
                    answers=form.answers(),
                    share_with_clinician=form.cleaned_data["share_with_clinician"],
                    request=request,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return redirect("accounts:screening_result", response_id=response.pk)
        messages.error(request, "Please answer every question; your other answers are kept.")
    return render(request, "accounts/screening_form.html", {"form": form, "instrument": questionnaire})


@login_required
def screening_result(request, response_id):
    member = request.user
    response = selectors.screening_response_get_for_member(member=member, response_id=response_id)
    questionnaire = INSTRUMENTS[response.instrument]
    previous = selectors.screening_response_get_previous(response=response)
    return render(
        request,
        "accounts/screening_result.html",
        {
            "response": response,
            "instrument": questionnaire,
            "band": questionnaire.band(response.band),
            "change": change_since(questionnaire, previous=previous, current=response),
            "when": week_label(response.perinatal_stage, response.perinatal_week),
            **_clinician_context(member),
        },
    )


@login_required
@require_POST
def screening_share(request, response_id):
    response = selectors.screening_response_get_for_member(member=request.user, response_id=response_id)
    shared = request.POST.get("shared") == "yes"
    services.screening_share_set(member=request.user, response_id=response.pk, shared=shared, request=request)
    if shared:
        messages.success(request, "Your answers are shared with your clinician.")
    else:
        messages.success(request, "Your answers are no longer shared with your clinician.")
    return redirect("accounts:screening_result", response_id=response.pk)


@login_required
@require_POST
def screening_skip(request, point_id):
    try:
        row = services.screening_point_skip(member=request.user, point_id=point_id)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"Skipped {row.point.name.lower()}. That's completely fine; you can take a questionnaire whenever you like.",
        )
    return redirect("accounts:screening")


@login_required
def screening_timeline(request):
    member = request.user
    profile = _profile(member)
    responses = selectors.screening_response_list_for_member(member=member)
    return render(
        request,
        "accounts/screening_timeline.html",
        {"charts": timeline_charts(responses), "profile": profile, "count": len(responses)},
    )


@login_required
def screening_support(request):
    """Crisis resources, shown at once after words that read like risk (a wellness note); says
    the care team was told only while one of her alerts is waiting for them."""
    member = request.user
    return render(
        request,
        "accounts/screening_support.html",
        {**_clinician_context(member), "told_clinician": selectors.risk_alert_open_exists(member=member)},
    )
