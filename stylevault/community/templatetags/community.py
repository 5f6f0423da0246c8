"""Links to what the community pages show: image files and style pages."""

from django import template

from stylevault.community import selectors

register = template.Library()


@register.filter
def image_url(image_id: int) -> str:
    return selectors.image_file_url(image_id)


@register.filter
def style_url(style_id: int) -> str:
    return selectors.style_page_url(style_id)
