"""Emails and pages in the workspace's language (issue 10): the sandbox takes the translation tags
the default templates are written with, refuses the forms of them that would bind literals, and a
Dutch workspace's invitation email and public session page write money and dates the Dutch way while
an English one stays as it was."""

import html
import re
from datetime import datetime
from decimal import Decimal

import pytest
from django.utils import translation

from messaging import registry
from messaging.models import OutboundEmail
from messaging.rendering import EmailTemplateError, TemplateSources, compile_template, render_email
from messaging.selectors import default_sources
from tenancy.urlresolvers import tenant_reverse

from ..factories import SessionFactory

pytestmark = pytest.mark.django_db

EDIT = "/t/acme/settings/emails/tenancy.staff_invitation/"


def sources(text: str) -> TemplateSources:
    return TemplateSources(subject="Hello", text=text, html=f"<p>{text}</p>")


def test_translation_tags_render_in_the_active_language():
    text = '{% translate "This field is required." %} {% blocktranslate %}Hi {{ name }}{% endblocktranslate %}'

    with translation.override("nl"):
        dutch = render_email(sources(text), {"name": "<Ada>"})
    english = render_email(sources(text), {"name": "<Ada>"})

    assert dutch.text == "Dit veld is vereist. Hi <Ada>\n"  # Django's own Dutch catalogue has the first
    assert english.text == "This field is required. Hi <Ada>\n"
    assert dutch.html == "<p>Dit veld is vereist. Hi &lt;Ada&gt;</p>"  # values still escaped in HTML


@pytest.mark.parametrize(
    "source, message",
    [
        ('{% translate "Hi" as greeting %}{{ greeting }}', "cannot store its text under a name"),
        ("{% blocktranslate asvar greeting %}Hi{% endblocktranslate %}", "cannot store its text under a name"),
        ('{% blocktranslate with name="Ada" %}Hi {{ name }}{% endblocktranslate %}', "can only name the email"),
        ("{% blocktranslate with n=3 %}{{ n }}{% endblocktranslate %}", "can only name the email"),
    ],
)
def test_translation_tags_may_not_bind_literals_or_store_text(source, message):
    with pytest.raises(EmailTemplateError, match=message):
        compile_template(source, autoescape=False)


def test_a_translation_tag_naming_the_emails_own_value_is_accepted():
    template = compile_template(
        "{% blocktranslate with who=name|upper %}Hi {{ who }}{% endblocktranslate %}", autoescape=False
    )

    assert template is not None


def test_the_editor_refuses_a_literal_binding_beside_the_field(tenant, admin_http):
    response = admin_http.post(
        EDIT,
        {
            "subject": "Join us",
            "text": '{% blocktranslate with who="me" %}{{ who }}{% endblocktranslate %}',
            "html": "<p>Join</p>",
            "save": "1",
        },
    )

    assert response.status_code == 200
    error = re.search(r'<p class="field-error" id="id_text_error">(.*?)</p>', response.content.decode(), re.S)
    assert error and "can only name the email" in html.unescape(error[1])


@pytest.mark.parametrize("language", ["en", "nl"])
def test_every_default_email_renders_with_its_sample_values(language):
    kinds = [registry.get(key) for key in sorted(registry._kinds)]
    assert len(kinds) > 15

    with translation.override(language):
        for kind in kinds:
            rendered = render_email(default_sources(kind), kind.sample_context)
            assert rendered.subject and "{%" not in rendered.text + rendered.html, kind.key


def invite(http, tenant, session) -> OutboundEmail:
    response = http.post(tenant_reverse(tenant, "sessions:invite", session_id=session.pk), {"email": "ada@example.com"})
    assert response.status_code == 302
    return OutboundEmail.objects.get(template_key="sessions_roster.invitation", to_email="ada@example.com")


@pytest.fixture
def dated_session(tenant):
    starts = datetime(2030, 3, 4, 9, 0, tzinfo=tenant.zone)  # a Monday
    return SessionFactory(tenant=tenant, title="Pottery", key="pottery1", starts_at=starts, price=Decimal("1234.50"))


def test_an_english_workspace_writes_money_and_dates_as_before(tenant, staff_http, client, dated_session):
    email = invite(staff_http, tenant, dated_session)

    assert "Price: 1234.50 EUR" in email.body_text
    assert "When: Monday 4 March 2030, 09:00" in email.body_text
    assert "Price" in email.body_html and "1234.50 EUR" in email.body_html
    page = client.get(tenant_reverse(tenant, "register:session", session_key="pottery1")).content.decode()
    assert "1234.50 EUR" in page and "4 March 2030" in page


def test_a_dutch_workspace_writes_money_and_dates_the_dutch_way(tenant, staff_http, client, dated_session):
    tenant.language = "nl"
    tenant.save(update_fields=["language"])

    email = invite(staff_http, tenant, dated_session)

    assert "1234,50 EUR" in email.body_text and "1234.50" not in email.body_text
    assert "maandag 4 maart 2030, 09:00" in email.body_text
    assert "1234,50 EUR" in email.body_html
    page = client.get(tenant_reverse(tenant, "register:session", session_key="pottery1")).content.decode()
    assert "1234,50 EUR" in page and "1234.50" not in page
    assert "maart 2030" in page and "March" not in page
