"""Course pages: catalog, course page, enrollment, lesson player, downloads, certificates."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, login_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing.services import CheckoutUnavailable
from bloom.exceptions import ApplicationError
from bloom.links import absolute_reverse
from notifications import staff_alerts

from . import selectors, services
from .forms import CertificateNameForm, EnrollForm, LessonProgressForm
from .models import ProgressStatus

COURSES_PER_PAGE = 12  # a page of cards; the rest are a link away
REF_COOKIE = "bloom_ref"
REF_COOKIE_AGE = 30 * 24 * 60 * 60


def _remember_ref(request, response):
    """Keep an affiliate `?ref=` for 30 days, so an enrollment later can credit it."""
    ref = services.affiliate_clean(request.GET.get("ref"))
    if ref:
        response.set_cookie(REF_COOKIE, ref, max_age=REF_COOKIE_AGE, httponly=True, samesite="Lax")
    return response


@login_not_required
@require_GET
def course_list(request):
    page = Paginator(selectors.course_list_published(), COURSES_PER_PAGE).get_page(request.GET.get("page"))
    courses = list(page.object_list)
    marks = selectors.course_marks_for_member(member=request.user)
    for course in courses:
        course.member_mark = marks.get(course.pk, "")
    return _remember_ref(request, render(request, "courses/course_list.html", {"courses": courses, "page": page}))


def _course_page(request, outline, *, form=None, status=200):
    context = {
        "outline": outline,
        "course": outline.course,
        "form": form or EnrollForm(),
        "certificate": None,
    }
    enrollment = outline.enrollment
    if enrollment is not None and enrollment.completed_at is not None:
        context["certificate"] = selectors.certificate_get_for_enrollment(enrollment=enrollment)
    return render(request, "courses/course_detail.html", context, status=status)


@login_not_required
@require_GET
def course_detail(request, slug):
    outline = selectors.course_outline_get(slug=slug, member=request.user)
    return _remember_ref(request, _course_page(request, outline))


@login_required
@require_POST
def course_enroll(request, slug):
    outline = selectors.course_outline_get(slug=slug, member=request.user)
    form = EnrollForm(request.POST)
    if not form.is_valid():
        return _course_page(request, outline, form=form, status=400)
    course_url = reverse("courses:course_detail", args=[slug])
    try:
        start = services.enrollment_start(
            member=request.user,
            course=outline.course,
            discount_code=form.cleaned_data["discount_code"],
            affiliate_id=request.COOKIES.get(REF_COOKIE),
            success_url=course_url,
            cancel_url=request.build_absolute_uri(course_url),
        )
    except CheckoutUnavailable as exc:
        # Stripe could not be reached: nothing was charged; the page comes back with the
        # code the member typed, so "Enroll and pay" is the retry.
        messages.error(request, exc.message)
        outline = selectors.course_outline_get(slug=slug, member=request.user)
        return _course_page(request, outline, form=form)
    except ApplicationError as exc:
        form.add_error("discount_code" if isinstance(exc, services.DiscountCodeError) else None, exc.message)
        return _course_page(request, outline, form=form, status=400)
    if start.access_granted:
        messages.success(request, f"You're enrolled in {outline.course.title}. Welcome!")
    return redirect(start.redirect_url)


@login_not_required
@require_GET
def lesson_detail(request, slug, lesson_id):
    page, access, outline = selectors.lesson_page_get(slug=slug, lesson_id=lesson_id, member=request.user)
    if page is None:
        messages.info(request, access.message)
        return redirect("courses:course_detail", slug=slug)
    start_slide = 0
    if outline.has_access and not request.user.is_staff:
        progress = services.lesson_view_record(enrollment=outline.enrollment, lesson=page.item.lesson)
        # Reopen an unfinished lesson on the slide the member reached last time.
        if progress.status != ProgressStatus.COMPLETED and progress.last_slide_index < len(page.slides):
            start_slide = progress.last_slide_index
    context = {"page": page, "outline": outline, "course": outline.course, "start_slide": start_slide}
    return render(request, "courses/lesson_detail.html", context)


@login_required
@require_POST
def lesson_progress(request, slug, lesson_id):
    """Record time, slides seen and completion (form post, or fetch() from the player)."""
    page, access, outline = selectors.lesson_page_get(slug=slug, lesson_id=lesson_id, member=request.user)
    wants_json = request.headers.get("Accept", "").startswith("application/json")
    form = LessonProgressForm(request.POST)
    if page is None or not outline.has_access or not form.is_valid():
        if wants_json:
            return JsonResponse({"error": access.message or "Invalid progress report."}, status=400)
        messages.info(request, access.message or "We could not record that. Please try again.")
        return redirect("courses:course_detail", slug=slug)
    data = form.cleaned_data
    milestone_before = outline.enrollment.last_milestone_percent
    progress = services.course_progress_update(
        member=request.user,
        lesson=page.item.lesson,
        completed=data["completed"],
        time_spent_seconds=data["time_spent_seconds"] or 0,
        slides_seen=data["slides_seen"],
        slide_index=data["slide_index"],
    )
    enrollment = progress.enrollment
    milestone = enrollment.last_milestone_percent if enrollment.last_milestone_percent > milestone_before else None
    if wants_json:
        return JsonResponse({"ok": True, "percent": enrollment.progress_percent, "milestone": milestone})
    if data["completed"]:
        messages.success(request, f"“{page.item.lesson.title}” is marked complete.")
        if milestone == 100:
            messages.success(
                request,
                f"You finished {outline.course.title}. Well done! Your certificate is ready: "
                "confirm the name to print on it, then download it.",
            )
        elif milestone:
            messages.success(request, f"Milestone reached: {milestone}% of {outline.course.title} complete.")
        if page.next is not None:
            return redirect("courses:lesson_detail", slug=slug, lesson_id=page.next.lesson.pk)
        return redirect("courses:course_detail", slug=slug)
    return redirect("courses:lesson_detail", slug=slug, lesson_id=lesson_id)


@login_required
@require_GET
def resource_download(request, resource_id):
    resource = selectors.resource_get_for_member(member=request.user, resource_id=resource_id)
    try:
        handle = resource.file.open("rb") if resource.file else None
    except FileNotFoundError:
        handle = None
    if handle is None:
        # A file lost from storage is for staff to put right: the member gets a 404 page
        # that says so, staff get one alert.
        staff_alerts.stored_file_missing(
            obj=resource,
            file_name=resource.file.name or "",
            description=f"the course resource “{resource.title}” of {resource.course.title}",
            admin_url=absolute_reverse("admin:courses_courseresource_change", resource.pk),
        )
        back_url = reverse("courses:course_detail", args=[resource.course.slug])
        context = {"title": resource.title, "back_url": back_url, "back_label": "Back to the course"}
        return render(request, "errors/file_missing.html", context, status=404)
    return FileResponse(handle, as_attachment=True, filename=resource.filename)


@login_required
@require_GET
def enrollment_detail(request, enrollment_id):
    enrollment = selectors.enrollment_get_for_member(member=request.user, enrollment_id=enrollment_id)
    context = {
        "enrollment": enrollment,
        "course": enrollment.course,
        "stats": selectors.enrollment_stats_get(enrollment=enrollment),
        "milestones": selectors.milestone_percent_list_for_enrollment(enrollment=enrollment),
        "certificate": selectors.certificate_get_for_enrollment(enrollment=enrollment),
    }
    return render(request, "courses/enrollment_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def certificate_detail(request, certificate_id):
    certificate = selectors.certificate_get_for_member(member=request.user, certificate_id=certificate_id)
    form = CertificateNameForm(initial={"certificate_name": certificate.certificate_name})
    if request.method == "POST" and certificate.name_confirmed_at is None:
        form = CertificateNameForm(request.POST)
        if form.is_valid():
            try:
                services.certificate_name_set(certificate=certificate, name=form.cleaned_data["certificate_name"])
            except ApplicationError as exc:
                form.add_error("certificate_name", exc.message)
            else:
                messages.success(request, "Your name is confirmed. Your certificate is ready to download.")
                return redirect("courses:certificate_detail", certificate_id=certificate.pk)
    context = {"certificate": certificate, "course": certificate.course, "form": form}
    return render(request, "courses/certificate_detail.html", context)


@login_required
@require_GET
def certificate_pdf(request, certificate_id):
    certificate = selectors.certificate_get_for_member(member=request.user, certificate_id=certificate_id)
    try:
        pdf = services.certificate_download(certificate=certificate)
    except ApplicationError as exc:
        messages.info(request, exc.message)
        return redirect("courses:certificate_detail", certificate_id=certificate.pk)
    response = HttpResponse(pdf, content_type="application/pdf")
    slug = certificate.course.slug
    response["Content-Disposition"] = f'attachment; filename="bloom-certificate-{slug}.pdf"'
    return response


@login_not_required
@require_GET
def certificate_verify(request, code):
    certificate = selectors.certificate_get_by_code(code=code)
    return render(request, "courses/certificate_verify.html", {"certificate": certificate})
