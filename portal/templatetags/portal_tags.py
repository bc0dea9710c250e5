from django import template

register = template.Library()


@register.filter
def warnings_of(form, name):
    return getattr(form, "warnings", {}).get(name, [])
