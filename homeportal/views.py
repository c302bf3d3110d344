from django.conf import settings
from django.shortcuts import render
from django.views.i18n import set_language


def home(request):
    return render(request, "home.html")


def language_set(request):
    """The ҚАЗ/РУС switch: Django's set_language (cookie, redirect back), and for a signed-in
    user the choice is saved as User.language, the language of their e-mails and notifications."""
    response = set_language(request)
    language = request.POST.get("language")
    if request.method == "POST" and request.user.is_authenticated and language in dict(settings.LANGUAGES):
        from cabinets.services import user_language_set

        user_language_set(user=request.user, language=language)
    return response
