"""Page helpers shared by every app's views."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render


def confirm_page(
    request, *, title: str, question: str, consequence: str, confirm_label: str, cancel_url: str, plain: bool = False
):
    """The confirmation page every destructive action shows on GET; the same URL acts on POST.
    ``plain`` uses the public layout (My Account) instead of the dashboard's."""
    return render(
        request,
        "confirm_plain.html" if plain else "confirm.html",
        {
            "title": title,
            "question": question,
            "consequence": consequence,
            "confirm_label": confirm_label,
            "cancel_url": cancel_url,
        },
    )


def submit(request, form, save, *, message, then):
    """Run a valid POST of ``form`` through a service: ``save(**form.cleaned_data)``, then a flash
    message and a redirect (``message`` and ``then`` may be functions of what was saved). A
    ``ValidationError`` from the service is shown on the form. Returns None when the form is to be
    rendered (a GET, or errors)."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        saved = save(**form.cleaned_data)
    except ValidationError as exc:
        form.add_error(None, exc)
        return None
    messages.success(request, message(saved) if callable(message) else message)
    return redirect(then(saved) if callable(then) else then)


def id_from(text) -> int | None:
    """An object id typed into a query string or a form: plain ASCII digits only, else None."""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None
