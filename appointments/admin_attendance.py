"""Attendance and fee buttons on the appointment's admin change page (appointments/attendance.py).

Mark attended (optionally a partial amount), No-show, Late-cancelled, and for each fee
awaiting confirmation Confirm (a confirmation page, then the off-session charge) or Waive (a
reason is required). Each page asks before acting; each action is refused unless the staff
member is the session's therapist or the practice owner, and is written to the admin log
(`log_change`, mirrored into admin_activity_log by AdminAuditMiddleware).
"""

from __future__ import annotations

import zoneinfo
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from bloom.exceptions import ApplicationError

from . import attendance
from .models import AppointmentPayment, PaymentKind, PaymentStatus

TEMPLATES = "admin/appointments/attendance"
MARKS = {
    "attended": (attendance.MARK_LABELS["attended"], "The session took place; the session fee is taken from the hold."),
    "no_show": (
        "Mark no-show",
        "The member did not attend; a no-show fee (if her policy has one) awaits your confirmation.",
    ),
    "late_cancelled": (
        attendance.MARK_LABELS["late_cancelled"],
        "The member cancelled inside the policy's window; a late-cancellation fee (if any) awaits your confirmation.",
    ),
}


class AttendanceAdminMixin:
    """Add to AppointmentDataAdmin's bases: its change page gets the attendance and fee buttons."""

    change_form_template = f"{TEMPLATES}/change_form.html"

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("<uuid:object_id>/attendance/<str:mark>/", wrap(self.attendance_view), name=f"{prefix}_attendance"),
            path(
                "<uuid:object_id>/fees/<uuid:row_id>/confirm/",
                wrap(self.fee_confirm_view),
                name=f"{prefix}_fee_confirm",
            ),
            path("<uuid:object_id>/fees/<uuid:row_id>/waive/", wrap(self.fee_waive_view), name=f"{prefix}_fee_waive"),
        ] + super().get_urls()

    # --- the change page ---------------------------------------------------------------------

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["attendance"] = self._attendance_context(request, obj)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def _attendance_context(self, request, appointment) -> dict:
        allowed = self.has_change_permission(request, appointment) and attendance.may_mark_attendance(
            actor=request.user, appointment=appointment
        )
        fees = list(
            AppointmentPayment.objects.filter(
                appointment=appointment, kind__in=[PaymentKind.NO_SHOW_FEE, PaymentKind.LATE_CANCEL_FEE]
            ).order_by("created_at")
        )
        return {
            "allowed": allowed,
            "marks": attendance.marks_available(appointment=appointment) if allowed else [],
            "fees": fees,
            "decidable": {PaymentStatus.PENDING, PaymentStatus.FAILED},
            "starts_local": self._local(appointment),
        }

    @staticmethod
    def _local(appointment) -> str:
        name = appointment.therapist.timezone if appointment.therapist else appointment.timezone
        when = timezone.localtime(appointment.starts_at, zoneinfo.ZoneInfo(name))
        return f"{when:%A %-d %B %Y, %-I:%M %p} ({when.tzname()})"

    # --- the action pages --------------------------------------------------------------------

    def _appointment_for(self, request, object_id):
        appointment = self.get_object(request, str(object_id))
        if appointment is None:
            raise Http404("No such appointment.")
        if not self.has_change_permission(request, appointment) or not attendance.may_mark_attendance(
            actor=request.user, appointment=appointment
        ):
            raise PermissionDenied("Only this session's therapist or the practice owner can record attendance or fees.")
        return appointment

    def _back(self, appointment):
        return HttpResponseRedirect(
            reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[appointment.pk])
        )

    def _page(self, request, appointment, template, **context):
        return TemplateResponse(
            request,
            f"{TEMPLATES}/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": appointment,
                "starts_local": self._local(appointment),
                "back_url": self._back(appointment).url,
                **context,
            },
        )

    def attendance_view(self, request, object_id, mark):
        appointment = self._appointment_for(request, object_id)
        if mark not in MARKS:
            raise Http404("No such mark.")
        title, intro = MARKS[mark]
        context = {"title": title, "intro": intro, "mark": mark, "amount": "", "error": ""}
        if request.method != "POST":
            return self._page(request, appointment, "mark.html", **context)
        amount = None
        raw = (request.POST.get("amount") or "").strip()
        context["amount"] = raw
        try:
            if raw:
                amount = Decimal(raw)
            if mark == "attended":
                row = attendance.appointment_mark_attended(appointment=appointment, actor=request.user, amount=amount)
            elif mark == "no_show":
                row = attendance.appointment_mark_no_show(appointment=appointment, actor=request.user)
            else:
                row = attendance.appointment_mark_late_cancelled(appointment=appointment, actor=request.user)
        except InvalidOperation:
            context["error"] = "Enter the amount as a number, for example 120.00."
            return self._page(request, appointment, "mark.html", **context)
        except ApplicationError as exc:
            context["error"] = str(exc)
            return self._page(request, appointment, "mark.html", **context)
        self.log_change(request, appointment, f"{title}" + (f" (amount {amount})" if amount else ""))
        messages.success(request, self._outcome(mark, row))
        return self._back(appointment)

    @staticmethod
    def _outcome(mark: str, row: AppointmentPayment | None) -> str:
        if mark == "attended":
            if row is None:
                return "Marked attended. There is no session fee to take."
            if row.status == PaymentStatus.CAPTURED:
                return f"Marked attended. {row.amount} {row.currency.upper()} was taken."
            return f"Marked attended. The session fee is {row.get_status_display().lower()}: {row.failure_message}"
        if row is None:
            return "Recorded. Her accepted policy has no fee for this, so nothing is owed."
        return f"Recorded. A fee of {row.amount} {row.currency.upper()} awaits your confirmation below."

    def _fee_for(self, appointment, row_id) -> AppointmentPayment:
        row = AppointmentPayment.objects.filter(appointment=appointment, pk=row_id).first()
        if row is None:
            raise Http404("No such fee.")
        return row

    def fee_confirm_view(self, request, object_id, row_id):
        appointment = self._appointment_for(request, object_id)
        row = self._fee_for(appointment, row_id)
        context = {"title": f"Charge the {row.get_kind_display().lower()}?", "row": row, "error": ""}
        if request.method != "POST":
            return self._page(request, appointment, "fee_confirm.html", **context)
        try:
            charged = attendance.appointment_fee_confirm(row=row, actor=request.user)
        except ApplicationError as exc:
            context["error"] = str(exc)
            return self._page(request, appointment, "fee_confirm.html", **context)
        self.log_change(request, appointment, f"Confirmed the {row.get_kind_display().lower()} ({charged.status})")
        if charged.status == PaymentStatus.CAPTURED:
            messages.success(request, f"{charged.amount} {charged.currency.upper()} was charged.")
        else:
            messages.warning(request, f"The fee is {charged.get_status_display().lower()}: {charged.failure_message}")
        return self._back(appointment)

    def fee_waive_view(self, request, object_id, row_id):
        appointment = self._appointment_for(request, object_id)
        row = self._fee_for(appointment, row_id)
        context = {"title": f"Waive the {row.get_kind_display().lower()}?", "row": row, "reason": "", "error": ""}
        if request.method != "POST":
            return self._page(request, appointment, "fee_waive.html", **context)
        context["reason"] = request.POST.get("reason", "")
        try:
            attendance.appointment_fee_waive(row=row, actor=request.user, reason=context["reason"])
        except ApplicationError as exc:
            context["error"] = str(exc)
            return self._page(request, appointment, "fee_waive.html", **context)
        self.log_change(
            request, appointment, f"Waived the {row.get_kind_display().lower()}: {context['reason'].strip()}"
        )
        messages.success(request, "The fee was waived; nothing was charged.")
        return self._back(appointment)
