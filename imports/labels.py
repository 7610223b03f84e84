"""The words beside the counts an import's plan and summary show.

Plans and summaries are stored with the job as ``{label: count}``, the label in English (the key
the import kind chose). Pages show each count with its label in the active language, singular or
plural as the count asks; a label not listed here is shown translated as it is.
"""

from django.utils.translation import gettext, ngettext

COUNT_LABELS = {
    "participants to add": lambda n: ngettext("participant to add", "participants to add", n),
    "participants to update": lambda n: ngettext("participant to update", "participants to update", n),
    "invitation codes to generate": lambda n: ngettext(
        "invitation code to generate", "invitation codes to generate", n
    ),
    "rows": lambda n: ngettext("row", "rows", n),
    "participants added": lambda n: ngettext("participant added", "participants added", n),
    "participants updated": lambda n: ngettext("participant updated", "participants updated", n),
    "invitation codes generated": lambda n: ngettext("invitation code generated", "invitation codes generated", n),
    "recipients": lambda n: ngettext("recipient", "recipients", n),
    "by email": lambda n: gettext("by email"),
    "by SMS": lambda n: gettext("by SMS"),
    "codes to send": lambda n: ngettext("code to send", "codes to send", n),
    "codes selected": lambda n: ngettext("code selected", "codes selected", n),
    "codes sent": lambda n: ngettext("code sent", "codes sent", n),
    "emails queued": lambda n: ngettext("email queued", "emails queued", n),
    "SMS queued": lambda n: ngettext("SMS queued", "SMS queued", n),
    "learners to give a seat": lambda n: ngettext("learner to give a seat", "learners to give a seat", n),
    "seats remaining now": lambda n: ngettext("seat remaining now", "seats remaining now", n),
    "learners given a seat": lambda n: ngettext("learner given a seat", "learners given a seat", n),
}


def count_label(label: str, count) -> str:
    words = COUNT_LABELS.get(label)
    if words is None:
        return gettext(label)
    return words(count if isinstance(count, int) else 2)
