"""`{% load portal_urls %}` makes `{% url %}` in that template a cached one (issue #18): the same
syntax and output as Django's, but a URL whose only argument is an object's UUID, or that has no
argument, is built once per pattern and the UUID put in by string replacement
(`homeportal.links`). Django's tag resolves the pattern again on every use, ~45 µs each — on a list
page 60–100 of them, a quarter of the page's time. Any other use (keyword arguments, a first
argument that is not a UUID) goes to Django's tag unchanged."""

import uuid

from django import template
from django.template import defaulttags
from django.urls import NoReverseMatch
from django.utils.html import conditional_escape

from homeportal import links

register = template.Library()
_cached = links._template  # the patterns' cache, shared with links.reverse_for_uuid


class CachedURLNode(defaulttags.URLNode):
    def render(self, context):
        args = [arg.resolve(context) for arg in self.args]
        if self.kwargs or (args and not isinstance(args[0], uuid.UUID)) or len(args) > 2:
            return super().render(context)
        view_name = self.view_name.resolve(context)
        request = getattr(context, "request", None)
        current_app = getattr(request, "current_app", None)
        if current_app is None:
            current_app = getattr(getattr(request, "resolver_match", None), "namespace", None)
        try:
            url = links.reverse_cached(view_name, args, current_app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
            url = ""
        except TypeError:  # an unhashable further argument
            return super().render(context)
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser, token):
    """Django's `{% url %}` (same arguments, `as var` too), cached as the module says."""
    node = defaulttags.url(parser, token)
    return CachedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
