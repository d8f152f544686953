"""Member pages for wellness check-ins: the check-in form for any of the last 7 days with the
weekly trend charts, the PDF summary, and sharing with her clinician. Every read is fenced to
the signed-in member."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from bloom.downloads import file_response
from bloom.exceptions import ApplicationError

from . import selectors, services
from .forms import WellnessEntryForm, WellnessSummaryForm
from .risk import risk_categories_found
from .selectors import profile_get_for_member
from .services import member_records_ensure
from .wellness_chart import wellness_charts
from .wellness_pdf import wellness_summary_pdf

CHART_WEEKS = 12


def _profile(member):
    """Her profile; a user created outside sign-up (shell, fixtures) gets its rows now."""
    return profile_get_for_member(member=member) or member_records_ensure(user=member)


def _entry_initial(entry, day: datetime.date) -> dict:
    if entry is None:
        return {"entry_date": day}
    return {
        "entry_date": day,
        "mood": entry.mood,
        "sleep_hours": entry.sleep_hours,
        "anxiety": entry.anxiety,
        "energy": entry.energy,
        "support": entry.support,
        "notes": entry.notes,
    }


def _picked_day(request, today: datetime.date) -> datetime.date:
    """The day in ?day=YYYY-MM-DD when it is one she may edit; otherwise today, with a message."""
    raw = request.GET.get("day", "")
    if not raw:
        return today
    try:
        day = datetime.date.fromisoformat(raw)
        services.wellness_day_check(entry_date=day, today=today)
    except ValueError:
        messages.error(request, "That doesn't look like a date, so today's check-in is shown.")
        return today
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return today
    return day


@login_required
def wellness(request):
    member = request.user
    profile = _profile(member)
    today = selectors.member_today(profile=profile)
    recent = selectors.wellness_entry_list_between(
        member=member, start=today - datetime.timedelta(days=services.WELLNESS_EDIT_DAYS), end=today
    )
    recent_days = {e.entry_date: e for e in recent}
    if request.method == "POST":
        form = WellnessEntryForm(request.POST, today=today)
        if form.is_valid():
            data = dict(form.cleaned_data)
            day = data.pop("entry_date") or today
            try:
                services.wellness_entry_record(member=member, entry_date=day, today=today, **data)
            except ApplicationError as exc:
                form.add_error("entry_date", exc.message)
            else:
                label = "Today's check-in" if day == today else f"Your check-in for {day:%A %-d %B}"
                messages.success(request, f"{label} is saved.")
                if risk_categories_found(data.get("notes", "")):
                    # The note was flagged for a clinician (same rule as the service): resources at once.
                    return redirect("accounts:screening_support")
                return redirect("accounts:wellness")
        messages.error(request, "Please check the highlighted fields; what you wrote is kept.")
        day = form.cleaned_data.get("entry_date") if hasattr(form, "cleaned_data") else None
        entry = None
    else:
        day = _picked_day(request, today)
        entry = recent_days.get(day)  # the days she may pick are the ones listed
        form = WellnessEntryForm(initial=_entry_initial(entry, day), today=today)
    weeks = selectors.wellness_week_list(member=member, today=today, weeks=CHART_WEEKS)
    days = [today - datetime.timedelta(days=n) for n in range(services.WELLNESS_EDIT_DAYS + 1)]
    return render(
        request,
        "accounts/wellness.html",
        {
            "form": form,
            "day": day,
            "today": today,
            "entry": entry,
            "week_days": [(d, recent_days.get(d)) for d in days],
            "weeks": weeks,
            "weeks_with_entries": [w for w in weeks if w.entries][::-1],
            "charts": wellness_charts(weeks),
            "measures": selectors.WELLNESS_MEASURES,
            "summary_form": WellnessSummaryForm(auto_id="pdf_%s"),
            "shared": selectors.wellness_share_active(member=member),
            "clinician": selectors.care_clinician_get_for_member(member=member),
        },
    )


@login_required
@never_cache
def wellness_summary(request):
    """Her PDF summary of the last few weeks, to bring to a session: only ever her own
    check-ins, never cached, notes only when she ticked "include my notes"."""
    member = request.user
    form = WellnessSummaryForm(request.GET or None)
    weeks_count, with_notes = 4, False
    if form.is_valid():
        weeks_count, with_notes = form.cleaned_data["weeks"], form.cleaned_data["notes"]
    profile = _profile(member)
    today = selectors.member_today(profile=profile)
    weeks = selectors.wellness_week_list(member=member, today=today, weeks=weeks_count)
    start = weeks[0].start
    pdf = wellness_summary_pdf(
        name=profile.preferred_name or member.get_full_name() or member.email,
        start=start,
        end=today,
        averages=selectors.wellness_averages(member=member, start=start, end=today),
        weeks=weeks,
        entries=selectors.wellness_entry_list_between(member=member, start=start, end=today) if with_notes else None,
    )
    return file_response(
        pdf, content_type="application/pdf", filename=f"bloom-wellness-{start:%Y-%m-%d}-to-{today:%Y-%m-%d}.pdf"
    )


@login_required
@require_POST
def wellness_share(request):
    shared = request.POST.get("shared") == "yes"
    services.wellness_share_set(member=request.user, shared=shared, request=request)
    if shared:
        messages.success(request, "Your check-ins are shared with your clinician. You can stop sharing at any time.")
    else:
        messages.success(request, "Your check-ins are no longer shared with your clinician.")
    return redirect("accounts:wellness")
