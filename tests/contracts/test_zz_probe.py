import re, html, pytest
pytestmark = pytest.mark.django_db
from tests.factories import OrganisationFactory
def test_probe(admin_http, tenant):
    o = OrganisationFactory(tenant=tenant)
    r = admin_http.post(f"/t/acme/contracts/organisations/{o.pk}/contracts/new/", {"name": "X", "invitation_prefix": "umb", "starts_on": "2026-01-01", "ends_on": "2026-12-31", "status": "active"})
    print(r.status_code, re.findall(r'(form-errors.*?</div>|field-error.*?</p>)', r.content.decode(), re.S))
