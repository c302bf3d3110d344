from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .models import Notification, OutboundMessage


def login_view(request):
    return render(request, "cabinets/login.html")


@require_POST
def logout_view(request):
    logout(request)
    return redirect("home")


def register_view(request):
    return render(request, "cabinets/register.html")


@login_required
def profile_view(request):
    return render(request, "cabinets/profile.html", {"profile_user": request.user})


@login_required
def notification_list(request):
    organization = request.user.organization
    notifications = Notification.objects.filter(organization=organization) if organization else Notification.objects.none()
    return render(request, "cabinets/notifications.html", {"notifications": notifications[:100]})


@login_required
def survey_list(request):
    return render(request, "cabinets/surveys.html")


def faq_view(request):
    return render(request, "cabinets/faq.html")


def dev_outbox(request):
    """Development only (DEV_OUTBOX_ENABLED): every e-mail and SMS the portal "sent"."""
    from django.conf import settings

    if not settings.DEV_OUTBOX_ENABLED:
        raise Http404
    messages = OutboundMessage.objects.all()[:200]
    return render(request, "cabinets/dev_outbox.html", {"outbound_messages": messages})
