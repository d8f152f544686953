"""Public pages that are mostly words: the about page (who we are, who we help, how care works)."""

from django.contrib.auth.decorators import login_not_required
from django.shortcuts import render


@login_not_required
def about(request):
    """The practice in plain words. No database reads beyond the session's."""
    return render(request, "content/about.html")
