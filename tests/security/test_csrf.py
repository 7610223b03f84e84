"""CSRF: every form that posts carries the token, a POST without it is refused and changes nothing,
and no view opts out except the JSON API, which a browser session cannot use."""

import pytest
from django.test import Client
from django.urls import reverse

from tenancy.models import Tenant
from tests.test_isolation import all_routes

from .pages import every_page, parts


@pytest.mark.django_db
def test_every_form_that_posts_carries_the_csrf_token(tenant):
    missing, posting = [], 0
    for name, url, response in every_page(tenant):
        for form in parts(response).forms:
            if form.method == "post":
                posting += 1
                if not form.has_csrf_token:
                    missing.append(f"{url} ({name}): <form method=post action={form.action!r}> without the token")
    assert not missing, "\n".join(missing)
    assert posting > 50  # the walk reached the pages with forms


def test_no_view_is_csrf_exempt_except_the_json_api():
    exempt = [r.name or r.route for r in all_routes() if getattr(r.callback, "csrf_exempt", False)]
    assert [name for name in exempt if not name.startswith("api:")] == []
    assert "api:code_redeem" in exempt  # the walk sees the API's views: DRF exempts them


def csrf_checking_client(user=None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


def token_of(client, url) -> str:
    client.get(url)
    return client.cookies["csrftoken"].value


def test_changing_workspace_settings_without_the_token_is_refused(owner, tenant):
    url = reverse("tenancy:settings", kwargs={"tenant_slug": tenant.slug})
    form = {
        "name": "Hijacked",
        "display_name": "",
        "time_zone": "UTC",
        "currency": "EUR",
        "language": "en",
        "brand_color": "#000000",
    }
    client = csrf_checking_client(owner)
    response = client.post(url, form)
    assert response.status_code == 403
    assert Tenant.objects.get(pk=tenant.pk).name == "Acme Training"
    # The same form with the token goes through: the refusal was the token's.
    response = client.post(url, {**form, "csrfmiddlewaretoken": token_of(client, url)})
    assert response.status_code == 302
    assert Tenant.objects.get(pk=tenant.pk).name == "Hijacked"


def test_signing_in_and_asking_for_a_password_reset_without_the_token_are_refused(owner, password):
    client = csrf_checking_client()
    response = client.post(reverse("accounts:login"), {"username": owner.email, "password": password})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
    from messaging.models import OutboundEmail

    before = OutboundEmail.objects.count()
    assert client.post(reverse("accounts:password_reset"), {"email": owner.email}).status_code == 403
    assert OutboundEmail.objects.count() == before


def test_a_public_page_refuses_a_post_without_the_token(tenant):
    client = csrf_checking_client()
    response = client.post(reverse("book:start", kwargs={"tenant_slug": tenant.slug}), {"code": "ABCD-EFGH"})
    assert response.status_code == 403


def test_a_signed_in_browser_cannot_use_the_api_without_a_key(owner_http):
    """The API is CSRF-exempt because it authenticates by key only: a session cookie does nothing there."""
    response = owner_http.post(reverse("api:code_redeem"), {"code": "ABCD-EFGH"}, content_type="application/json")
    assert response.status_code in (401, 403)
    assert owner_http.get(reverse("api:contracts")).status_code in (401, 403)
