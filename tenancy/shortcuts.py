"""Page helpers shared by every app's views."""

from django.shortcuts import render


def confirm_page(request, *, title: str, question: str, consequence: str, confirm_label: str, cancel_url: str):
    """The confirmation page every destructive action shows on GET; the same URL acts on POST."""
    return render(
        request,
        "confirm.html",
        {
            "title": title,
            "question": question,
            "consequence": consequence,
            "confirm_label": confirm_label,
            "cancel_url": cancel_url,
        },
    )
