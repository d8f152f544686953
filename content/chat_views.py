"""Messages with the care team: /messages/ for members and visitors (docs/adr/0180)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_http_methods

from bloom.exceptions import ApplicationError

from . import selectors, services
from .chat_forms import ChatMessageForm, ChatVisitorStartForm
from .models import ChatSender
from .ratelimit import rate_limit_exceeded

VISITOR_LIMIT = "10/h"  # new visitor conversations and messages per IP
CRISIS_FLAG = "chat_show_crisis"
WHO = {ChatSender.VISITOR: "You", ChatSender.STAFF: "Bloom care team", ChatSender.SYSTEM: "Automatic reply from Bloom"}


def _page_context(request, conversation, form, *, poll_url: str, post_url: str) -> dict:
    show_crisis = request.session.pop(CRISIS_FLAG, False) or not services.chat_hours_open()
    chat_messages = list(selectors.chat_message_list(conversation=conversation))
    return {
        "conversation": conversation,
        "chat_messages": chat_messages,
        "last_at": chat_messages[-1].created_at.isoformat() if chat_messages else "",
        "form": form,
        "poll_url": poll_url,
        "post_url": post_url,
        "open_now": services.chat_hours_open(),
        "show_crisis": show_crisis,
        "care_team_email": settings.BLOOM_STAFF_ALERT_EMAIL,
    }


def _post(request, conversation, form) -> bool:
    """Store the writer's message from a valid form; False (with the error on the form) otherwise."""
    if not form.is_valid():
        return False
    if form.is_bot():
        return True
    try:
        result = services.chat_writer_message_post(conversation=conversation, body=form.cleaned_data["body"])
    except ApplicationError as exc:
        form.add_error("body", exc.message)
        return False
    if result["risk"] or result["auto_reply"]:
        request.session[CRISIS_FLAG] = True
    return True


def _messages_json(conversation, after: str | None) -> JsonResponse:
    after_at = parse_datetime(after) if after else None
    rows = [
        {
            "id": str(message.pk),
            "sender": message.sender,
            "who": WHO[message.sender],
            "body": message.body,
            "created_at": message.created_at.isoformat(),
        }
        for message in selectors.chat_message_list(conversation=conversation, after=after_at)
    ]
    response = JsonResponse({"messages": rows, "status": conversation.status})
    response["Cache-Control"] = "private, no-store"
    return response


@login_not_required
@require_http_methods(["GET", "POST"])
def messages_home(request):
    """A member's conversations and a new-message form; for a visitor, the form that asks her email."""
    member = request.user if request.user.is_authenticated else None
    form_class = ChatMessageForm if member else ChatVisitorStartForm
    form = form_class(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            if not member and rate_limit_exceeded(request, scope="chat", rate=VISITOR_LIMIT):
                form.add_error(
                    None, "We have had several messages from your network this hour. Please try again later."
                )
                status = 429
            elif form.is_bot():
                return redirect("content:messages_home")
            else:
                try:
                    result = services.chat_conversation_start(
                        body=form.cleaned_data["body"],
                        user=member,
                        visitor_email=form.cleaned_data.get("visitor_email", ""),
                        visitor_name=form.cleaned_data.get("visitor_name", ""),
                    )
                except ApplicationError as exc:
                    form.add_error("body", exc.message)
                else:
                    request.session[CRISIS_FLAG] = bool(result["risk"] or result["auto_reply"])
                    conversation = result["conversation"]
                    if member:
                        return redirect("content:messages_thread", conversation_id=conversation.pk)
                    token = services.chat_visitor_token(conversation=conversation)
                    return redirect("content:messages_visitor_thread", token=token)
    context = {
        "form": form,
        "conversations": list(selectors.chat_conversation_list_for_member(member=member)) if member else [],
        "open_now": services.chat_hours_open(),
        "next_open_at": services.chat_next_open_at(),
        "care_team_email": settings.BLOOM_STAFF_ALERT_EMAIL,
    }
    return render(request, "content/chat/messages_home.html", context, status=status)


@require_http_methods(["GET", "POST"])
def messages_thread(request, conversation_id):
    conversation = selectors.chat_conversation_get_for_member(member=request.user, conversation_id=conversation_id)
    form = ChatMessageForm(request.POST or None)
    if request.method == "POST" and _post(request, conversation, form):
        return redirect("content:messages_thread", conversation_id=conversation.pk)
    url = request.path
    context = _page_context(request, conversation, form, poll_url=f"{url}updates/", post_url=url)
    return render(request, "content/chat/messages_thread.html", context, status=400 if form.errors else 200)


@require_GET
def messages_thread_updates(request, conversation_id):
    conversation = selectors.chat_conversation_get_for_member(member=request.user, conversation_id=conversation_id)
    return _messages_json(conversation, request.GET.get("after"))


def _visitor_conversation(token: str):
    try:
        return services.chat_visitor_token_read(token=token)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc


@login_not_required
@require_http_methods(["GET", "POST"])
def messages_visitor_thread(request, token: str):
    conversation = _visitor_conversation(token)
    form = ChatMessageForm(request.POST or None)
    if request.method == "POST":
        if rate_limit_exceeded(request, scope="chat", rate=VISITOR_LIMIT):
            form.is_valid()
            form.add_error(None, "We have had several messages from your network this hour. Please try again later.")
        elif _post(request, conversation, form):
            return redirect("content:messages_visitor_thread", token=token)
    url = request.path
    context = _page_context(request, conversation, form, poll_url=f"{url}updates/", post_url=url)
    response = render(request, "content/chat/messages_thread.html", context, status=400 if form.errors else 200)
    response["Referrer-Policy"] = "no-referrer"  # the link is her key
    return response


@login_not_required
@require_GET
def messages_visitor_thread_updates(request, token: str):
    return _messages_json(_visitor_conversation(token), request.GET.get("after"))
