"""`{% load portal_urls %}`: the cached `{% url %}` gives what Django's gives, or raises as it does."""

import uuid

import pytest
from django.template import Context, Engine, Template, engines
from django.urls import NoReverseMatch

from homeportal.templatetags import portal_urls


def _both(source: str, **context) -> tuple[str, str]:
    engine = engines["django"]
    django_html = engine.from_string("{% load i18n %}" + source).render(context)
    cached_html = engine.from_string("{% load portal_urls %}" + source).render(context)
    return django_html, cached_html


@pytest.mark.parametrize("source", [
    "{% url 'appeals:history' pid %}",
    "{% url 'applications:stage' pid 3 %}",
    "{% url 'applications:stage' pid stage %}",
    "{% url 'appeals:history_download' pid 12 %}",
    "{% url 'appeals:list' %}|{% url 'home' %}",
    "{% url 'appeals:edit' pid as edit %}<a href=\"{{ edit }}\">{{ edit }}</a>",
    "{% url 'cabinets:notification_read' 7 %}",  # not a UUID first: Django's tag
    "{% url 'appeals:history' public_id=pid %}",  # keywords: Django's tag
    "{% url 'appeals:no_such' pid as missing %}[{{ missing }}]",
])
def test_same_output_as_djangos_url(source):
    for pid in (uuid.uuid4(), uuid.UUID(int=0), uuid.uuid4()):  # the sentinel itself too
        django_html, cached_html = _both(source, pid=pid, stage=2)
        assert cached_html == django_html
        assert str(pid) in cached_html or " pid" not in source or "no_such" in source


def test_unknown_name_raises_like_djangos():
    pid = uuid.uuid4()
    for source in ("{% load portal_urls %}{% url 'appeals:no_such' pid %}", "{% load portal_urls %}{% url 'no_such' %}"):
        with pytest.raises(NoReverseMatch):
            engines["django"].from_string(source).render({"pid": pid})


def test_the_pattern_is_resolved_once():
    portal_urls._cached.cache_clear()
    template = engines["django"].from_string("{% load portal_urls %}{% for p in ids %}{% url 'appeals:history' p %}{% endfor %}")
    ids = [uuid.uuid4() for _ in range(20)]
    html = template.render({"ids": ids})
    assert all(f"/appeals/{p}/history/" in html for p in ids)
    info = portal_urls._cached.cache_info()
    assert info.misses == 1 and info.hits == 19


def test_autoescape_off_keeps_the_url():
    pid = uuid.uuid4()
    template = Template("{% load portal_urls %}{% autoescape off %}{% url 'appeals:history' pid %}{% endautoescape %}",
                        engine=Engine.get_default())
    assert template.render(Context({"pid": pid})) == f"/appeals/{pid}/history/"
