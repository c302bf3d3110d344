from django.conf import settings

from .selectors import unread_notification_count


def portal(request):
    user = getattr(request, "user", None)
    organization = getattr(user, "organization", None) if user is not None and user.is_authenticated else None
    return {
        "current_organization": organization,
        # Lazy: the count query runs only where the menu is actually rendered.
        "unread_notifications": (lambda: unread_notification_count(organization=organization)) if organization else 0,
        "dev_outbox_enabled": settings.DEV_OUTBOX_ENABLED,
    }
