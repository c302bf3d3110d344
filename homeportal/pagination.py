"""One way to page a list: every list and history page shows PAGE_SIZE rows and keeps its filters."""

from django.core.paginator import Page, Paginator

PAGE_SIZE = 20


def paginate(request, queryset, *, per_page: int | None = None) -> tuple[Page, str]:
    """The requested page (the first one for a missing or malformed number, the last one past the
    end) and the query string without `page`, for links that keep the filters."""
    page = Paginator(queryset, per_page or PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return page, params.urlencode()
