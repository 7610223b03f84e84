"""Every form renders through the same templates: label, field, help text and errors beside it."""

from django.forms.renderers import TemplatesSetting


class TesseraFormRenderer(TemplatesSetting):
    form_template_name = "forms/form.html"
    field_template_name = "forms/field.html"
