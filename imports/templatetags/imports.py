from django import template

from imports.labels import count_label

register = template.Library()


@register.filter
def counted(label, count):
    """``{{ label|counted:value }}``: an import plan's or summary's label, translated and agreeing with the count."""
    return count_label(label, count)
