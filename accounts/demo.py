"""Demo clients: enough in Demo Studio to page through, a few in Harbour Yoga."""

import unicodedata

from .models import Client


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


FIRST = [
    "Ada",
    "Ben",
    "Chloé",
    "Dmitri",
    "Eva",
    "Farah",
    "Gus",
    "Hana",
    "Ivo",
    "Jun",
    "Kofi",
    "Lena",
    "Mats",
    "Nora",
    "Omar",
    "Pia",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Vera",
    "Wim",
    "Xiu",
    "Yara",
    "Zeno",
    "Anouk",
    "Bram",
    "Cas",
    "Daan",
    "Elif",
    "Femke",
]
LAST = [
    "Lovelace",
    "Bakker",
    "Dubois",
    "Ivanov",
    "Jansen",
    "Haddad",
    "Visser",
    "Sato",
    "de Vries",
    "Chen",
    "Mensah",
    "Meyer",
    "Berg",
    "Smit",
    "Khan",
    "Rossi",
    "Murphy",
    "García",
    "Lund",
    "Aziz",
    "Patel",
    "Novak",
    "Peeters",
    "Wang",
    "Silva",
    "Costa",
    "de Boer",
    "Mulder",
    "Vos",
    "Dekker",
    "Yilmaz",
    "Hendriks",
]


def seed(demo) -> None:
    for index, (first, last) in enumerate(zip(FIRST, LAST, strict=True)):
        Client.objects.update_or_create(
            tenant=demo.tenants["demo"],
            email=f"{_ascii(first)}.{_ascii(last)}@example.com",
            defaults={
                "first_name": first,
                "last_name": last,
                "phone": f"+31 6 {12000000 + index * 7919:08d}",
                "notes": "Prefers morning sessions." if index % 5 == 0 else "",
            },
        )
    for first, last in [("Maya", "Thompson"), ("Leo", "Wright"), ("Isla", "Evans")]:
        Client.objects.update_or_create(
            tenant=demo.tenants["harbour"],
            email=f"{first.lower()}.{last.lower()}@example.org",
            defaults={"first_name": first, "last_name": last},
        )
