"""Public site pages: blog, newsletter sign-up and confirmation, analytics beacon, contact, careers."""

import json
import re
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from bloom.exceptions import ApplicationError
from bloom.http import client_ip

from . import selectors, services
from .forms import CareerApplicationForm, ContactForm, HoneypotMixin, NewsletterSignupForm
from .models import BlogPost, EventCategory
from .ratelimit import rate_limit_exceeded

BOT_USER_AGENT = re.compile(
    r"bot|crawl|spider|slurp|preview|facebookexternalhit|embedly|pinterest|headless|python-|curl|wget|httpclient|monitor",
    re.IGNORECASE,
)


def is_bot(request) -> bool:
    agent = request.META.get("HTTP_USER_AGENT", "")
    return not agent or bool(BOT_USER_AGENT.search(agent))


# --- Blog -----------------------------------------------------------------------------------


@login_not_required
def blog_list(request):
    paginator = Paginator(selectors.blog_post_list_published(), selectors.BLOG_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "content/blog_list.html", {"page": page, "posts": page.object_list})


@login_not_required
def blog_detail(request, slug: str):
    user = request.user
    is_staff = user.is_authenticated and user.is_staff
    can_preview = is_staff and user.has_perm("content.view_blogpost")
    post = selectors.blog_post_get_for_staff(slug=slug) if can_preview else selectors.blog_post_get_published(slug=slug)
    if post.is_published and not is_staff and not is_bot(request):
        services.blog_post_view_record(post=post)
    return render(request, "content/blog_detail.html", {"post": post, "preview": not post.is_published})


# --- Newsletter -----------------------------------------------------------------------------

SIGNUP_LIMIT = "10/h"  # sign-ups per IP


@login_not_required
@require_http_methods(["GET", "POST"])
def newsletter_signup(request):
    form = NewsletterSignupForm(request.POST or None, initial={"source": "newsletter_page"})
    if request.method == "POST" and form.is_valid():
        if rate_limit_exceeded(request, scope="newsletter", rate=SIGNUP_LIMIT):
            form.add_error(None, "Too many sign-ups from your network just now. Please try again in an hour.")
            return render(request, "content/newsletter_signup.html", {"form": form}, status=429)
        if not form.is_bot():
            services.subscriber_subscribe(
                email=form.cleaned_data["email"],
                first_name=form.cleaned_data["first_name"],
                source=form.cleaned_data["source"] or "newsletter_page",
                request=request,
            )
        return redirect("content:newsletter_thanks")
    return render(request, "content/newsletter_signup.html", {"form": form}, status=400 if form.errors else 200)


@login_not_required
def newsletter_thanks(request):
    return render(request, "content/newsletter_thanks.html")


@login_not_required
@require_http_methods(["GET", "POST"])
def newsletter_confirm(request, token: str):
    # GET only shows a button: mail scanners that open links must not confirm for people.
    if request.method == "GET":
        return render(request, "content/newsletter_confirm.html", {"token": token})
    try:
        services.subscriber_confirm(token=token, request=request)
    except ApplicationError as exc:
        return render(request, "content/newsletter_confirm.html", {"token": token, "error": exc.message}, status=400)
    return render(request, "content/newsletter_confirmed.html")


# --- Analytics beacon -----------------------------------------------------------------------

EVENT_NAME = re.compile(r"^[a-z0-9_.:-]{1,100}$")
SESSION_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
EVENT_LIMIT = "120/m"  # events per IP
MAX_BODY = 4096


def _same_origin(request) -> bool:
    """Only the site's own pages may post events: the browser's Origin (or Referer) must be us."""
    own = {f"{request.scheme}://{request.get_host()}", *settings.CSRF_TRUSTED_ORIGINS}
    origin = request.META.get("HTTP_ORIGIN")
    if origin:
        return origin in own
    referer = request.META.get("HTTP_REFERER")
    if referer:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}" in own
    return False


@login_not_required
@csrf_exempt  # No cookie-authenticated state changes: the origin check below is what guards it.
@require_POST
def analytics_event(request):
    if not _same_origin(request):
        return JsonResponse({"error": "cross-origin"}, status=403)
    if rate_limit_exceeded(request, scope="analytics", rate=EVENT_LIMIT):
        return JsonResponse({"error": "rate limited"}, status=429)
    if request.content_type != "application/json" or len(request.body) > MAX_BODY:
        return JsonResponse({"error": "send a small JSON body"}, status=400)
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"error": "invalid JSON"}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"error": "invalid JSON"}, status=400)
    name = payload.get("event")
    category = payload.get("category", EventCategory.OTHER)
    session_id = payload.get("session_id") or ""
    properties = payload.get("properties") or {}
    if not isinstance(name, str) or not EVENT_NAME.match(name):
        return JsonResponse({"error": "invalid event name"}, status=400)
    if category not in EventCategory.values:
        return JsonResponse({"error": "invalid category"}, status=400)
    if session_id and (not isinstance(session_id, str) or not SESSION_ID.match(session_id)):
        return JsonResponse({"error": "invalid session id"}, status=400)
    if not isinstance(properties, dict) or len(properties) > 20:
        return JsonResponse({"error": "invalid properties"}, status=400)
    if is_bot(request):
        return HttpResponse(status=204)
    services.analytics_event_record(
        event_name=name,
        category=category,
        session_id=session_id,
        user=request.user,
        path=str(payload.get("path") or "")[:500],
        referrer=str(payload.get("referrer") or "")[:500],
        properties=properties,
        blog_post=_post_for(payload.get("post_id")),
    )
    return HttpResponse(status=204)


def _post_for(value) -> BlogPost | None:
    try:
        post_id = uuid.UUID(str(value))
    except ValueError:
        return None
    return selectors.blog_post_get_by_id(post_id=post_id)


# --- Contact form ---------------------------------------------------------------------------

CONTACT_LIMIT = "5/h"  # messages per IP


def _submitted(form: HoneypotMixin) -> dict:
    """What a visitor submitted, as the service takes it: every cleaned field but the honeypot."""
    return {name: value for name, value in form.cleaned_data.items() if name not in HoneypotMixin.base_fields}


@login_not_required
@require_http_methods(["GET", "POST"])
def contact(request):
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if rate_limit_exceeded(request, scope="contact", rate=CONTACT_LIMIT):
            form.add_error(
                None,
                "We have received several messages from your network in the last hour. Please try again later or call us.",
            )
            return render(request, "content/contact_form.html", {"form": form}, status=429)
        if not form.is_bot():
            services.contact_submission_create(**_submitted(form), ip_address=client_ip(request))
        return redirect("content:contact_thanks")
    return render(request, "content/contact_form.html", {"form": form}, status=400 if form.errors else 200)


@login_not_required
def contact_thanks(request):
    return render(request, "content/contact_thanks.html")


# --- Careers --------------------------------------------------------------------------------

APPLICATION_LIMIT = "5/h"  # applications per IP


@login_not_required
def career_list(request):
    return render(request, "content/career_list.html", {"postings": list(selectors.job_posting_list_open())})


@login_not_required
@require_http_methods(["GET", "POST"])
def career_detail(request, slug: str):
    posting = selectors.job_posting_get_open(slug=slug)
    form = CareerApplicationForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            limited = rate_limit_exceeded(request, scope="careers", rate=APPLICATION_LIMIT)
            if limited:
                form.add_error(
                    None, "Too many applications from your network in the last hour. Please try again later."
                )
                status = 429
            elif form.is_bot():
                return redirect("content:career_applied", slug=posting.slug)
            else:
                try:
                    services.career_application_submit(
                        job_posting=posting, **_submitted(form), ip_address=client_ip(request)
                    )
                except ApplicationError as exc:
                    form.add_error(None, exc.message)
                else:
                    return redirect("content:career_applied", slug=posting.slug)
    return render(request, "content/job_posting_detail.html", {"posting": posting, "form": form}, status=status)


@login_not_required
def career_applied(request, slug: str):
    return render(request, "content/career_application_thanks.html", {"slug": slug})
