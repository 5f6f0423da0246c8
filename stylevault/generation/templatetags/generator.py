"""`{% generator %}`: generation's generator on a style's page. The style's page belongs to
styles, which sits below generation and so cannot import its form; the template asks for it."""

from __future__ import annotations

from django import template

from stylevault.generation.forms import Generator

register = template.Library()


@register.inclusion_tag("generation/_generator.html", takes_context=True)
def generator(context: template.Context) -> dict:
    """The bound generator a failed submit handed back, else a fresh one (a new idempotency
    key per rendered form)."""
    return {**context.flatten(), "generator": context.get("generator") or Generator.read()}
