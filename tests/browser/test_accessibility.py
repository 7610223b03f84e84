"""Keyboard and labels, in a real browser with JavaScript off: a participant books and a staff member
signs in and fills a form with the keyboard alone, seeing where the focus is; every visible field of
every page (the security page walk, as owner and anonymously) has an accessible name; and the
accessibility check that every journey screenshot runs does fail on a page with a serious problem."""

import pytest
from playwright.sync_api import expect

from contracts.models import Organisation
from tenancy.models import Role

from ..conftest import member
from ..factories import DEFAULT_PASSWORD, CodeFactory, ParticipantFactory, PriceFactory
from ..security.pages import every_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What the focused element looks like: an outline or a box-shadow a sighted keyboard user can see.
FOCUSED = """() => {
  const e = document.activeElement, s = getComputedStyle(e);
  const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none';
  return {tag: e.tagName.toLowerCase(), type: e.type || '', name: e.name || '', text: (e.innerText || '').trim(),
          label: e.labels && e.labels.length ? e.labels[0].innerText.trim() : '', ring};
}"""

# Every control a person can operate, in document order, as the focus walk should meet them.
CONTROLS = """(scope) => Array.from(document.querySelectorAll(scope + ' :is(a[href], button, input, select, textarea)'))
  .filter(e => e.type !== 'hidden' && !e.disabled && e.getClientRects().length
    && getComputedStyle(e).visibility !== 'hidden')
  .map(e => e.name || (e.innerText || '').trim())"""

# Visible fields without an accessible name: label[for], a wrapping label, aria-label or aria-labelledby.
UNNAMED = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(e => e.type !== 'hidden' && e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
  .filter(e => {
    const labelled = (e.labels && Array.from(e.labels).some(l => l.textContent.trim()))
      || (e.getAttribute('aria-label') || '').trim()
      || (e.getAttribute('aria-labelledby') || '').split(/\\s+/).some(id => id && document.getElementById(id)
           && document.getElementById(id).textContent.trim())
      || (['submit', 'button', 'reset'].includes(e.type) && (e.value || '').trim());
    return !labelled;
  })
  .map(e => e.outerHTML.slice(0, 160))"""


def tab_until(page, wanted: str, limit: int = 40) -> list[dict]:
    """Press Tab until the focused control's name, text or label is ``wanted``; every stop on the way."""
    stops = []
    focused = page.evaluate(FOCUSED)
    if wanted in (focused["name"], focused["text"], focused["label"]):  # already there (autofocus)
        return [focused]
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        stops.append(focused)
        if wanted in (focused["name"], focused["text"], focused["label"]):
            return stops
    pytest.fail(f"{wanted!r} was not reached with {limit} presses of Tab; the focus went: {stops}")


def assert_focus_visible(stops):
    unseen = [stop for stop in stops if not stop["ring"] and stop["tag"] != "body"]  # body: focus left the page
    assert not unseen, f"No visible focus style on: {unseen}"


def test_a_participant_books_with_the_keyboard_alone(live_server, page, tenant):
    price = PriceFactory(tenant=tenant, price_code="STD")
    participant = ParticipantFactory(
        tenant=tenant, contract=price.contract, first_name="Noor", email="noor@example.com"
    )
    code = CodeFactory(tenant=tenant, price=price, contract=price.contract, participant=participant)
    page.goto(f"{live_server.url}/t/{tenant.slug}/book/")

    stops = tab_until(page, "Skip to content", limit=1)
    stops += tab_until(page, "code")
    page.keyboard.type(code.shown)
    stops += tab_until(page, "Continue")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Pick a time")).to_be_visible()

    # Every time offered is reached in order; Enter on the first picks it.
    first_slot = page.locator("button.slot").first.inner_text().strip()
    stops += tab_until(page, first_slot)
    page.keyboard.press("Enter")
    expect(page.get_by_label("First name")).to_have_value("Noor")

    # The details form: the fields come in reading order, then the button; Enter books.
    expected = list(dict.fromkeys(name for name in page.evaluate(CONTROLS, "main form") if name))
    met = list(dict.fromkeys(stop["name"] or stop["text"] for stop in tab_until(page, "Book")))
    assert [name for name in met if name in expected] == expected, (
        f"Tab order {met} differs from reading order {expected}"
    )
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
    assert_focus_visible(stops)


def test_staff_sign_in_and_add_an_organisation_with_the_keyboard_alone(live_server, page, tenant):
    owner = member(tenant, Role.OWNER, email="owner@acme.example")
    page.goto(f"{live_server.url}/accounts/login/")
    stops = tab_until(page, "username")
    page.keyboard.type(owner.email)
    stops += tab_until(page, "password")
    page.keyboard.type(DEFAULT_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Acme Training")).to_be_visible()

    page.goto(f"{live_server.url}/t/{tenant.slug}/contracts/organisations/new/")
    form_fields = [name for name in page.evaluate(CONTROLS, "main form") if name]
    stops += tab_until(page, "name")
    page.keyboard.type("Northwind Health")
    met = [stop["name"] or stop["text"] for stop in stops[-1:]]
    for field in form_fields[form_fields.index("name") + 1 :]:
        met.append(tab_until(page, field, limit=3)[-1]["name"] or field)
    assert met == form_fields[form_fields.index("name") :], f"Tab order {met} differs from reading order {form_fields}"
    page.locator("main form input[name=name]").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Northwind Health").first).to_be_visible()
    assert Organisation.objects.filter(tenant=tenant, name="Northwind Health").exists()
    assert_focus_visible(stops)


def test_every_visible_field_on_every_page_has_a_name(live_server, page, tenant):
    """Each page of the security walk, as the test client got it, shown at its own address (so its
    stylesheet decides what is visible) and asked for fields nobody could name."""
    pages = {}
    page.context.route(
        f"{live_server.url}/walk/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body=pages[route.request.url]),
    )
    unnamed, walked = [], 0
    for name, url, response in every_page(tenant):
        address = f"{live_server.url}/walk{url}"
        pages[address] = response.content
        page.goto(address)
        walked += 1
        unnamed += [f"{name} {url}: {field}" for field in page.evaluate(UNNAMED)]
    assert walked > 50, f"only {walked} pages walked"
    assert not unnamed, "Fields without an accessible name:\n" + "\n".join(unnamed)


def test_the_check_fails_on_a_page_with_a_serious_problem(live_server, page, accessibility):
    bad = b"""<!doctype html><html lang="en"><head><title>Bad</title></head><body><main>
      <input name="q"><p style="color:#bbb;background:#fff">Faint words</p></main></body></html>"""
    page.route(f"{live_server.url}/bad/", lambda route: route.fulfill(status=200, content_type="text/html", body=bad))
    page.goto(f"{live_server.url}/bad/")
    with pytest.raises(pytest.fail.Exception) as failed:
        accessibility.check(page, "a bad page")
    message = str(failed.value)
    assert "- label (critical)" in message and "- color-contrast (serious)" in message, message
    assert "    at input: " in message and "    at p: " in message, message
