from functools import cache

from django.conf import settings

from homeportal import page_cache

from .selectors import unread_notification_count


def portal(request):
    user = getattr(request, "user", None)
    organization = getattr(user, "organization", None) if user is not None and user.is_authenticated else None
    return {
        "current_organization": organization,
        # Lazy and once per request: the count query runs only where a page shows it (menu badge,
        # home tile), and only once however many places do.
        # In a cached page (homeportal/page_cache.py) a placeholder, filled at every serving.
        "unread_notifications": cache(lambda: page_cache.live("unread_notifications")
                                      or unread_notification_count(organization=organization)) if organization else 0,
        "dev_outbox_enabled": settings.DEV_OUTBOX_ENABLED,
        "ncalayer_url": settings.NCALAYER_URL,  # <body data-ncalayer-url>, read by static/js/ncalayer.js
    }
