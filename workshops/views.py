"""Member pages (list, detail, register, cancel, accept an offer, pay, feedback) and the Zoom webhook."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, login_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.services import security_event_record
from bloom.exceptions import ApplicationError
from bloom.links import absolute_reverse
from bloom.webhooks import webhook_endpoint
from notifications import staff_alerts

from . import selectors, services, webhooks
from .forms import FeedbackForm
from .models import PaymentStatus, RegistrationStatus

WORKSHOPS_PER_PAGE = 12  # a page of cards in date order; the rest are a link away


@login_not_required
def workshop_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.workshop_list_upcoming(), WORKSHOPS_PER_PAGE).get_page(request.GET.get("page"))
    workshops = list(page.object_list)
    statuses = selectors.registration_statuses_for_member(member=request.user, workshop_ids=[w.pk for w in workshops])
    rows = [(w, statuses.get(w.pk), w.seats_left) for w in workshops]
    return render(request, "workshops/workshop_list.html", {"rows": rows, "page": page})


@login_not_required
def workshop_detail(request: HttpRequest, slug: str) -> HttpResponse:
    workshop = selectors.workshop_get_published(slug=slug)
    context = {"workshop": workshop, "seats_left": selectors.workshop_seats_left(workshop=workshop)}
    if request.user.is_authenticated:
        registration = selectors.registration_get_active_for_member(member=request.user, workshop=workshop)
        context.update(
            registration=registration,
            offer=getattr(registration, "waitlist_entry", None) if registration else None,
            resources=selectors.resource_list_for_member(member=request.user, workshop=workshop),
        )
        if registration is not None and registration.status == RegistrationStatus.ATTENDED:
            feedback = selectors.feedback_get_for_member(member=request.user, workshop=workshop)
            initial = {"rating": feedback.rating, "comments": feedback.comments} if feedback else None
            context.update(feedback=feedback, feedback_form=FeedbackForm(initial=initial))
    return render(request, "workshops/workshop_detail.html", context)


@login_required
@require_GET
def resource_download(request: HttpRequest, resource_id) -> HttpResponse:
    """A workshop's file, only to the members who see it listed (never straight from MEDIA_ROOT)."""
    resource = selectors.resource_get_for_member(member=request.user, resource_id=resource_id)
    try:
        handle = resource.file.open("rb")
    except FileNotFoundError:
        # A file lost from storage is for staff to put right: the member gets a 404 page
        # that says so, staff get one alert.
        staff_alerts.stored_file_missing(
            obj=resource,
            file_name=resource.file.name,
            description=f"the handout “{resource.title}” of the workshop {resource.workshop.title}",
            admin_url=absolute_reverse("admin:workshops_workshop_change", resource.workshop_id),
        )
        back_url = reverse("workshops:workshop_detail", args=[resource.workshop.slug])
        context = {"title": resource.title, "back_url": back_url, "back_label": "Back to the workshop"}
        return render(request, "errors/file_missing.html", context, status=404)
    return FileResponse(handle, as_attachment=True, filename=resource.file.name.rsplit("/", 1)[-1])


def _checkout_redirect(request: HttpRequest, registration) -> HttpResponse:
    detail = request.build_absolute_uri(reverse("workshops:workshop_detail", args=[registration.workshop.slug]))
    try:
        url = services.registration_checkout_start(registration=registration, success_url=detail, cancel_url=detail)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(detail)
    return redirect(url)


@login_required
@require_POST
def workshop_register(request: HttpRequest, slug: str) -> HttpResponse:
    workshop = selectors.workshop_get_published(slug=slug)
    try:
        registration = services.registration_create(member=request.user, workshop=workshop)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("workshops:workshop_detail", slug=slug)
    if registration.status == RegistrationStatus.WAITLISTED:
        messages.info(request, "This workshop is full, so you're on the waitlist. We'll tell you if a seat opens up.")
    elif registration.payment_status == PaymentStatus.PENDING:
        return _checkout_redirect(request, registration)
    else:
        messages.success(request, "You're registered. See you there!")
    return redirect("workshops:workshop_detail", slug=slug)


@login_required
@require_POST
def registration_cancel(request: HttpRequest, registration_id) -> HttpResponse:
    registration = selectors.registration_get_for_member(member=request.user, registration_id=registration_id)
    paid = registration.payment_status == PaymentStatus.PAID
    try:
        services.registration_cancel(
            registration=registration, refund_reason="Cancelled my workshop registration." if paid else ""
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        done = "Your registration is cancelled."
        messages.success(request, f"{done} We've asked our team to refund your payment." if paid else done)
    return redirect("workshops:workshop_detail", slug=registration.workshop.slug)


@login_required
@require_POST
def waitlist_accept(request: HttpRequest, registration_id) -> HttpResponse:
    registration = selectors.registration_get_for_member(member=request.user, registration_id=registration_id)
    try:
        registration = services.waitlist_offer_accept(registration=registration)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("workshops:workshop_detail", slug=registration.workshop.slug)
    if registration.payment_status == PaymentStatus.PENDING:
        return _checkout_redirect(request, registration)
    messages.success(request, "The seat is yours. See you there!")
    return redirect("workshops:workshop_detail", slug=registration.workshop.slug)


@login_required
@require_POST
def registration_pay(request: HttpRequest, registration_id) -> HttpResponse:
    registration = selectors.registration_get_for_member(member=request.user, registration_id=registration_id)
    return _checkout_redirect(request, registration)


@login_required
@require_POST
def feedback_submit(request: HttpRequest, slug: str) -> HttpResponse:
    workshop = selectors.workshop_get_published(slug=slug)
    form = FeedbackForm(request.POST)
    if form.is_valid():
        try:
            services.feedback_submit(member=request.user, workshop=workshop, **form.cleaned_data)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Thank you for your feedback.")
    else:
        messages.error(request, "Please choose a rating from 1 to 5.")
    return redirect("workshops:workshop_detail", slug=slug)


@webhook_endpoint
@require_POST
def zoom_webhook(request: HttpRequest) -> HttpResponse:
    """Verify, answer the URL challenge or store the event (workshops.webhooks.PROVIDER);
    processing happens in a worker. A database failure answers 503 so Zoom delivers again."""
    return webhooks.PROVIDER.receive(request, reject=security_event_record)
