from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from .dashboard import panels


def home(request):
    if request.user.is_authenticated:
        return redirect("accounts:dashboard")
    return render(request, "home.html")


@login_required
def dashboard(request):
    member = request.user
    sections = [(panel, panel.context(member)) for panel in panels()]
    return render(request, "accounts/dashboard.html", {"sections": sections})
