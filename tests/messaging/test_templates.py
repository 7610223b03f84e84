"""The email template editor: list, edit with preview, save, validation in the sandbox, reset."""

import html
import re

import pytest

from messaging.models import EmailTemplateOverride, OutboundEmail
from messaging.rendering import RenderedEmail, TemplateSources, render_email
from tenancy.models import Role
from tenancy.services import staff_invitation_create

from ..conftest import member, signed_in

pytestmark = pytest.mark.django_db

LIST = "/t/acme/settings/emails/"
KEY = "tenancy.staff_invitation"
EDIT = f"{LIST}{KEY}/"
RESET = f"{EDIT}reset/"
DEFAULT_SUBJECT = "You are invited to join {{ tenant_name }} on Tessera"
VALID = {
    "subject": "Come and work at {{ tenant_name }}",
    "text": "Hi! {{ invited_by }} wants you on the team.\n{{ accept_url }}\n",
    "html": '<p>Hi! {{ invited_by }} wants you on the team.</p><p><a href="{{ accept_url }}">Join</a></p>',
}


def preview(**changes):
    return {**VALID, **changes, "preview": "1"}


def save(**changes):
    return {**VALID, **changes, "save": "1"}


def field_error(content: str, field: str) -> str:
    """The error text rendered beside ``field``, or "" when there is none."""
    match = re.search(rf'<p class="field-error" id="id_{field}_error">(.*?)</p>', content, re.S)
    return html.unescape(match[1]) if match else ""


def invite(tenant, invited_by, email="newbie@example.com") -> OutboundEmail:
    invitation = staff_invitation_create(tenant=tenant, email=email, role=Role.STAFF, invited_by=invited_by)
    return OutboundEmail.objects.get(tenant=tenant, to_email=invitation.email)


# Who may edit


def test_the_list_shows_the_team_invitation_with_its_default_text(tenant, admin_http):
    response = admin_http.get(LIST)

    assert response.status_code == 200
    content = response.content.decode()
    assert f'<a href="{EDIT}">Team invitation</a>' in content
    assert '<span class="muted">default</span>' in content
    assert "Password reset" not in content  # a platform email, not the tenant's to edit


def test_the_list_says_which_templates_are_customised(tenant, other_tenant, admin_http):
    EmailTemplateOverride.objects.create(tenant=other_tenant, key=KEY, subject="s", body_text="t", body_html="h")
    assert "customised" not in admin_http.get(LIST).content.decode()

    EmailTemplateOverride.objects.create(tenant=tenant, key=KEY, subject="s", body_text="t", body_html="h")
    assert "customised" in admin_http.get(LIST).content.decode()


@pytest.mark.parametrize("url", [LIST, EDIT, RESET])
def test_staff_may_not_see_the_template_pages(tenant, staff_http, url):
    assert staff_http.get(url).status_code == 403


def test_staff_may_not_save_or_reset_a_template(tenant, staff_http):
    EmailTemplateOverride.objects.create(tenant=tenant, key=KEY, subject="Mine", body_text="t", body_html="h")

    assert staff_http.post(EDIT, save(subject="Staff was here")).status_code == 403
    assert staff_http.post(RESET).status_code == 403

    assert EmailTemplateOverride.objects.get(tenant=tenant, key=KEY).subject == "Mine"


@pytest.mark.parametrize("role", ["admin", "owner"])
@pytest.mark.parametrize("url", [LIST, EDIT, RESET])
def test_admins_and_owners_may_see_the_template_pages(tenant, request, role, url):
    client = request.getfixturevalue(f"{role}_http")

    assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", [EDIT, RESET])
def test_a_member_of_another_workspace_may_not_edit_this_ones_templates(tenant, other_tenant, url):
    outsider = signed_in(member(other_tenant, Role.OWNER))

    assert outsider.get(url).status_code == 403
    assert outsider.post(url, save()).status_code == 403
    assert not EmailTemplateOverride.objects.exists()


# Edit and preview


def test_the_edit_page_is_prefilled_with_the_default_and_previews_it_with_sample_values(tenant, admin_http):
    response = admin_http.get(EDIT)

    assert response.status_code == 200
    content = response.content.decode()
    assert f'name="subject" value="{DEFAULT_SUBJECT}' in content
    assert "{{ invited_by }} invited you to join the {{ tenant_name }} team on Tessera as {{ role }}." in content
    assert "&lt;p&gt;Hello,&lt;/p&gt;" in content  # the HTML source, as text in its textarea
    assert "This is the default text." in content
    assert "<strong>Subject:</strong> You are invited to join Acme Training on Tessera" in content
    assert "Alex Owner invited you to join the Acme Training team on Tessera as Staff." in content
    assert "https://example.com/t/demo/join/sample-token/" in content
    [srcdoc] = re.findall(r'srcdoc="([^"]*)"', content)
    assert "Accept the invitation" in html.unescape(srcdoc)


def test_a_preview_shows_the_submitted_text_and_saves_nothing(tenant, admin_http):
    response = admin_http.post(EDIT, preview())

    assert response.status_code == 200
    content = response.content.decode()
    assert "<strong>Subject:</strong> Come and work at Acme Training" in content
    assert "Hi! Alex Owner wants you on the team.\nhttps://example.com/t/demo/join/sample-token/" in content
    assert 'value="Come and work at {{ tenant_name }}"' in content  # the form keeps what was typed
    assert not EmailTemplateOverride.objects.exists()


def test_the_preview_never_puts_the_submitted_markup_raw_into_the_page(tenant, admin_http):
    response = admin_http.post(
        EDIT, preview(subject="<script>s()</script>", text="<script>t()</script>", html="<script>h()</script>")
    )

    content = response.content.decode()
    assert "<script>s()" not in content and "<script>t()" not in content and "<script>h()" not in content
    assert "&lt;script&gt;t()&lt;/script&gt;" in content


def test_saving_a_valid_template_creates_an_override_for_this_tenant_only(tenant, other_tenant, admin, admin_http):
    response = admin_http.post(EDIT, save(), follow=True)

    assert response.redirect_chain == [(EDIT, 302)]
    content = response.content.decode()
    assert "“Team invitation” saved. New emails use it from now on." in content
    assert "This workspace uses its own text." in content
    assert f'value="{VALID["subject"]}"' in content
    override = EmailTemplateOverride.objects.get()
    assert (override.tenant, override.key, override.updated_by) == (tenant, KEY, admin)
    assert (override.subject, override.body_html) == (VALID["subject"], VALID["html"])
    assert override.body_text == VALID["text"].strip()  # form fields strip surrounding whitespace


def test_saving_again_changes_the_same_override(tenant, admin_http):
    admin_http.post(EDIT, save())
    admin_http.post(EDIT, save(subject="Second try at {{ tenant_name }}"))

    assert EmailTemplateOverride.objects.get(tenant=tenant).subject == "Second try at {{ tenant_name }}"


def test_a_saved_template_is_used_by_new_emails_of_this_tenant_only(tenant, other_tenant, owner, admin_http):
    admin_http.post(EDIT, save(subject="{{ invited_by }} wants you at {{ tenant_name }}"))
    globex_owner = member(other_tenant, Role.OWNER, first_name="Gina", last_name="Globex")

    ours = invite(tenant, owner)
    theirs = invite(other_tenant, globex_owner)

    assert ours.subject == "Olga Owner wants you at Acme Training"
    assert "Olga Owner wants you on the team." in ours.body_text
    assert theirs.subject == "You are invited to join Globex Studio on Tessera"


# Refused templates


@pytest.mark.parametrize("part", ["subject", "text", "html"])
@pytest.mark.parametrize(
    "broken, message",
    [
        ("{% if %}", "Line 1: Unexpected end of expression in if tag."),
        ("{{ name|nosuchfilter }}", "Line 1: the |nosuchfilter filter is not allowed in email templates."),
        ("{% for x in y %}", "Line 1: Unclosed tag on line 1: 'for'."),
    ],
)
def test_a_template_with_a_syntax_error_is_refused_with_the_error_beside_the_field(
    tenant, admin_http, part, broken, message
):
    response = admin_http.post(EDIT, save(**{part: broken}))

    assert response.status_code == 200
    error = field_error(response.content.decode(), part)
    assert error.startswith("Line") and message in error
    assert "Fix the errors to see a preview." in response.content.decode()
    assert not EmailTemplateOverride.objects.exists()


def test_the_error_names_the_line_it_is_on(tenant, admin_http):
    response = admin_http.post(EDIT, save(text="Hello,\n\n{% if %}\n"))

    assert field_error(response.content.decode(), "text").startswith("Line 3:")


def test_a_syntax_error_also_refuses_a_preview(tenant, admin_http):
    response = admin_http.post(EDIT, preview(html="<p>{% endif %}</p>"))

    assert field_error(response.content.decode(), "html").startswith("Line 1:")
    assert "Fix the errors to see a preview." in response.content.decode()


@pytest.mark.parametrize(
    "forbidden, tag",
    [
        ('{% include "x.html" %}', "include"),
        ("{% debug %}", "debug"),
        ("{% url 'x' %}", "url"),
        ('{% extends "x.html" %}', "extends"),
        ("{% csrf_token %}", "csrf_token"),
        ("{% if role %}{% debug %}{% endif %}", "debug"),
        ("{% lorem 100000 w %}", "lorem"),
        ("{% lorem\t100000 w %}", "lorem"),  # any whitespace after the name, as Django's parser reads it
        ('{% with s="x" %}{% endwith %}', "with"),
    ],
)
def test_tags_that_reach_outside_the_template_are_refused_with_a_clear_message(tenant, admin_http, forbidden, tag):
    response = admin_http.post(EDIT, save(text=f"Hello\n{forbidden}"))

    assert field_error(response.content.decode(), "text") == (
        f"Line 2: the {{% {tag} %}} tag is not allowed in email templates."
    )
    assert not EmailTemplateOverride.objects.exists()


def test_load_static_is_refused(tenant, admin_http):
    response = admin_http.post(EDIT, save(html="{% load static %}<img src=\"{% static 'x.png' %}\">"))

    assert field_error(response.content.decode(), "html").startswith("Line 1:")
    assert not EmailTemplateOverride.objects.exists()


def test_load_static_is_refused_with_a_clear_message(tenant, admin_http):
    response = admin_http.post(EDIT, save(html="{% load static %}"))

    assert field_error(response.content.decode(), "html") == (
        "Line 1: the {% load %} tag is not allowed in email templates."
    )


@pytest.mark.parametrize(
    "source, message",
    [
        ('{{ role|ljust:"4000000000" }}', "Line 2: the |ljust filter is not allowed in email templates."),
        ("{{ role|safe }}", "Line 2: the |safe filter is not allowed in email templates."),
        ('{% for a in "a very long literal" %}{% endfor %}', "Line 2: loops can only go over the email's own values."),
    ],
)
def test_work_the_author_could_blow_up_is_refused(tenant, admin_http, source, message):
    response = admin_http.post(EDIT, save(html=f"<p>Hi</p>\n{source}"))

    assert field_error(response.content.decode(), "html") == message
    assert not EmailTemplateOverride.objects.exists()


def test_loops_nested_three_deep_are_refused(tenant, admin_http):
    """Nested loops multiply rendering work inside the transaction that sends the email."""
    loops = "{% for a in role %}{% for b in role %}{% for c in role %}x{% endfor %}{% endfor %}{% endfor %}"
    response = admin_http.post(EDIT, save(text=loops))

    assert field_error(response.content.decode(), "text") == (
        "Line 1: loops can be nested 2 deep at most in email templates."
    )
    assert not EmailTemplateOverride.objects.exists()


@pytest.mark.parametrize("button", ["preview", "save"])
def test_a_subject_that_renders_empty_is_refused_in_the_preview(tenant, admin_http, button):
    data = {**VALID, "subject": "{{ no_such_variable }}  {% if False %}x{% endif %}", button: "1"}

    response = admin_http.post(EDIT, data)

    assert response.status_code == 200
    assert "The subject is empty once rendered." in response.content.decode()
    assert not EmailTemplateOverride.objects.exists()


def test_a_template_that_fails_while_rendering_is_refused(tenant, admin_http):
    response = admin_http.post(EDIT, save(subject="{% for a, b in role %}{% endfor %}Hi"))

    assert response.status_code == 200
    assert "The template could not be rendered:" in response.content.decode()
    assert not EmailTemplateOverride.objects.exists()


def test_a_blank_part_is_required(tenant, admin_http):
    response = admin_http.post(EDIT, save(html=""))

    assert field_error(response.content.decode(), "html") == "This field is required."
    assert not EmailTemplateOverride.objects.exists()


# Escaping


def test_html_in_variables_is_escaped_in_the_html_part_only():
    sources = TemplateSources(subject="Hi {{ name }}", text="Hi {{ name }}", html="<p>Hi {{ name }}</p>")

    rendered = render_email(sources, {"name": '<b>Sam</b> & "co"'})

    assert rendered == RenderedEmail(
        subject='Hi <b>Sam</b> & "co"',
        text='Hi <b>Sam</b> & "co"\n',
        html="<p>Hi &lt;b&gt;Sam&lt;/b&gt; &amp; &quot;co&quot;</p>",
    )


def test_line_breaks_in_a_subject_are_collapsed_so_no_header_can_be_added():
    sources = TemplateSources(subject="Hi {{ name }}\nBcc: x@evil.example", text="t", html="h")

    rendered = render_email(sources, {"name": "Sam\r\nCc: y@evil.example"})

    assert rendered.subject == "Hi Sam Cc: y@evil.example Bcc: x@evil.example"


def test_a_queued_email_escapes_the_inviters_name_in_html_but_not_in_text(tenant, owner):
    owner.first_name, owner.last_name = "<i>Olga</i>", "O'Neil & Co"
    owner.save()

    email = invite(tenant, owner)

    assert "<i>Olga</i> O'Neil & Co invited you" in email.body_text
    assert "&lt;i&gt;Olga&lt;/i&gt; O&#x27;Neil &amp; Co invited you" in email.body_html
    assert "<i>Olga</i>" not in email.body_html


# Reset and unknown keys


def test_reset_asks_first_and_deletes_nothing_on_get(tenant, admin_http):
    EmailTemplateOverride.objects.create(tenant=tenant, key=KEY, subject="Mine", body_text="t", body_html="h")

    response = admin_http.get(RESET)

    assert response.status_code == 200
    assert "Go back to the default “Team invitation” email?" in response.content.decode()
    assert EmailTemplateOverride.objects.filter(tenant=tenant, key=KEY).exists()


def test_reset_by_post_deletes_this_tenants_override_only(tenant, other_tenant, admin_http):
    EmailTemplateOverride.objects.create(tenant=tenant, key=KEY, subject="Mine", body_text="t", body_html="h")
    EmailTemplateOverride.objects.create(tenant=other_tenant, key=KEY, subject="Theirs", body_text="t", body_html="h")

    response = admin_http.post(RESET, follow=True)

    assert response.redirect_chain == [(EDIT, 302)]
    content = response.content.decode()
    assert "“Team invitation” is back to the default text." in content
    assert f'name="subject" value="{DEFAULT_SUBJECT}' in content
    assert list(EmailTemplateOverride.objects.values_list("subject", flat=True)) == ["Theirs"]


def test_the_edit_page_offers_reset_only_when_customised(tenant, admin_http):
    assert RESET not in admin_http.get(EDIT).content.decode()

    EmailTemplateOverride.objects.create(tenant=tenant, key=KEY, subject="Mine", body_text="t", body_html="h")

    assert RESET not in admin_http.get(LIST).content.decode()
    assert RESET in admin_http.get(EDIT).content.decode()


@pytest.mark.parametrize("key", ["no.such_email", "nonsense", "accounts.password_reset"])
@pytest.mark.parametrize("suffix", ["", "reset/"])
def test_an_unknown_or_platform_template_is_not_found(tenant, admin_http, key, suffix):
    url = f"{LIST}{key}/{suffix}"

    assert admin_http.get(url).status_code == 404
    assert admin_http.post(url, save()).status_code == 404
    assert not EmailTemplateOverride.objects.exists()
