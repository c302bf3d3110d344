"""«БИН/Пароль» login: the BIN names the organization, the password picks its person."""

from django.contrib.auth.backends import BaseBackend, ModelBackend

from .models import User


class BinPasswordBackend(ModelBackend):
    """`authenticate(request, username=<BIN>, password=...)`. django-axes counts failures by
    the same `username` credential, so the lockout is per BIN."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or not password or len(username) != 12 or not username.isdigit():
            return None
        for user in User.objects.filter(organization__bin=username, is_active=True).order_by("pk"):
            if user.check_password(password) and self.user_can_authenticate(user):
                return user
        User().set_password(password)  # same work whether or not the BIN exists
        return None


SESSION_BACKEND = "cabinets.backends.CabinetSessionBackend"


class CabinetSessionBackend(BaseBackend):
    """The backend every cabinet login records in the session (`login(..., backend=SESSION_BACKEND)`).
    It authenticates nobody itself (the login views check the password, code or signature first)
    and grants no permission; it loads the session's user together with the organization, which
    every cabinet page reads: one query per request instead of two (issue #18)."""

    def get_user(self, user_id):
        try:
            user = User._default_manager.select_related("organization").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if user.is_active else None
