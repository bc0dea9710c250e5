"""Driving the onboarding form through the views, as the nodal officer's browser would."""

import io

from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile

from onboarding.application import services
from onboarding.models import Application
from tests.html_tree import page
from tests.onboarding_data import VALID, minimal_pdf

# The hidden fields a page's form carries to say what the page showed.
SHOWN_FIELDS = ("shown_answers", "shown_version", "notice_version")


def section_url(application, section):
    return f"/onboarding/{application.pk}/section/{section}/"


def new_application(officer):
    return services.application_create(actor=officer)


def post_section(client, application, section, data, **extra):
    return client.post(section_url(application, section), data, **extra)


def as_shown(client, url, data=None):
    """``data`` with what the page at ``url`` says it showed (its hidden ``SHOWN_FIELDS``), as
    its form would send it: the page is opened now."""
    tree = page(client.get(url))
    shown = {node.get("name"): node.get("value", "") for node in tree.iter()
             if node.tag == "input" and node.get("type") == "hidden" and node.get("name") in SHOWN_FIELDS}
    return {**(data or {}), **shown}


def valid(section, **changes):
    """The valid answers of a section with some changed."""
    data = dict(VALID[section])
    data.update(changes)
    return data


def fill_all(client, application, sections=None):
    for section, data in (sections or VALID).items():
        response = post_section(client, application, section, data)
        assert response.status_code == 302, (section, response.content.decode()[:2000])


def upload(client, application, content, name="letter.pdf", content_type="application/pdf"):
    return client.post(
        f"/onboarding/{application.pk}/letter/", {"letter": SimpleUploadedFile(name, content, content_type=content_type)}
    )


def complete(client, application):
    fill_all(client, application)
    response = upload(client, application, minimal_pdf())
    assert response.status_code == 302, response.content.decode()[:2000]
    application.refresh_from_db()
    return application


REPLY = "Corrected as the remarks asked."


def submit(client, application, capture, reply=REPLY):
    """Submit through the view, running what it queues on commit (``capture`` is
    pytest-django's django_capture_on_commit_callbacks); the application as stored. A
    returned application is sent again with ``reply`` to its remarks (a first submission
    takes none: the page has no such box then, and the view reads none)."""
    with capture(execute=True):
        response = client.post(f"/onboarding/{application.pk}/submit/", {"reply": reply})
    assert response.status_code == 302, [str(m) for m in get_messages(response.wsgi_request)]
    return reload(application)


def png_bytes(size=(40, 20)):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(size=(40, 20)):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 30, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


def reload(application):
    return Application.objects.get(pk=application.pk)
