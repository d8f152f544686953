import base64

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import selectors, services
from .models import UserNotification

_PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@login_required
@require_GET
def notification_list(request):
    notifications = selectors.notification_list_for_member(member=request.user, limit=100)
    return render(request, "notifications/notification_list.html", {"notifications": notifications})


@login_required
@require_POST
def notification_mark_read(request, notification_id):
    try:
        services.notification_mark_read(member=request.user, notification_id=notification_id)
    except UserNotification.DoesNotExist as exc:
        raise Http404("No such notification") from exc
    return redirect("notifications:notification_list")


@login_required
@require_POST
def notification_mark_all_read(request):
    count = services.notification_mark_all_read(member=request.user)
    messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} as read.")
    return redirect("notifications:notification_list")


@login_not_required
@require_GET
@never_cache
def track_open(request, token):
    try:
        services.tracking_open_record(token=token)
    except services.TrackingRejected:
        return HttpResponseBadRequest("Invalid tracking link.", content_type="text/plain")
    return HttpResponse(_PIXEL, content_type="image/gif")


@login_not_required
@require_GET
@never_cache
def track_click(request, token):
    try:
        url = services.tracking_click_record(token=token)
    except services.TrackingRejected:
        return HttpResponseBadRequest("This link is not valid.", content_type="text/plain")
    return HttpResponseRedirect(url)


@login_not_required
@csrf_exempt  # RFC 8058 one-click: mail clients POST without a session or CSRF token
@require_http_methods(["GET", "POST"])
@never_cache
def unsubscribe(request, token):
    try:
        email, email_id = services.unsubscribe_token_check(token=token)
    except services.TrackingRejected:
        return render(request, "notifications/unsubscribe_invalid.html", status=400)
    if request.method == "POST":
        services.marketing_unsubscribe(email=email, email_id=email_id)
        return render(request, "notifications/unsubscribe_done.html", {"email": email})
    return render(request, "notifications/unsubscribe_confirm.html", {"email": email, "token": token})
