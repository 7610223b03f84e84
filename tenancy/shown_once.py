"""A secret shown once (an API key, a webhook signing secret), after a redirect.

The page that makes the secret keeps it in the person's session and redirects (so reloading the
result never makes a second one); the next page takes it out of the session as it shows it, with
``Cache-Control: no-store`` so neither the browser's cache nor the back button keeps it.
"""

SESSION_KEY = "shown-once:{what}:{pk}"


def keep_to_show_once(request, what: str, pk: int, secret: str) -> None:
    request.session[SESSION_KEY.format(what=what, pk=pk)] = secret


def take_to_show(request, what: str, pk: int) -> str | None:
    """The secret kept for this page, removed from the session; None once it was shown."""
    return request.session.pop(SESSION_KEY.format(what=what, pk=pk), None)


def not_stored(response):
    response["Cache-Control"] = "no-store"
    return response
