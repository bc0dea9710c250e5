"""The nodal officer's journey through the Django test client (the browser test
walks the same journey in Chromium)."""

import pytest

from onboarding.models import Application, ApplicationStatus, SectionStatus
from tests.onboarding.form_helpers import complete, submit


@pytest.mark.django_db(transaction=False)
def test_full_journey(officer_client, officer, django_capture_on_commit_callbacks, mailoutbox):
    response = officer_client.post("/onboarding/start/")
    assert response.status_code == 302
    application = complete(officer_client, Application.objects.get(nodal_officer=officer))
    assert set(application.section_status.values()) == {SectionStatus.COMPLETE}
    assert officer_client.get(f"/onboarding/{application.pk}/tasks/").status_code == 200
    pdf = officer_client.get(f"/onboarding/{application.pk}/form.pdf")
    assert pdf.status_code == 200
    body = b"".join(pdf.streaming_content)
    assert body.startswith(b"%PDF")
    assert officer_client.get(f"/onboarding/{application.pk}/submit/").status_code == 200
    application = submit(officer_client, application, django_capture_on_commit_callbacks)
    assert application.status == ApplicationStatus.WITH_AUTHORITY
    assert application.reference.startswith("ONB-")
    assert officer_client.get(f"/onboarding/{application.pk}/").status_code == 200
    assert officer_client.get("/onboarding/").status_code == 200
