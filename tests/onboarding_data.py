"""Valid answers for every section of the onboarding form, for tests."""

VALID = {
    "organisation": {
        "name": "Directorate of Agriculture, Maharashtra",
        "name_local": "कृषी संचालनालय, महाराष्ट्र",
        "short_code": "DOA-MH",
        "org_type": "directorate",
        "level": "state",
        "state": "MH",
        "district": "",
        "address": "Central Building, Pune 411001",
        "pin_code": "411001",
        "landline": "020-26123456",
        "website": "https://krishi.maharashtra.gov.in",
        "email_domains": "mahaagri.gov.in",
        "approx_users": "1200",
    },
    "hierarchy": {"parent_choice": "none", "parent": "", "new_parent_name": "", "new_parent_type": ""},
    "nodal_officer": {
        "name": "Sunil Patil",
        "designation": "Deputy Director (IT)",
        "employee_code": "MH-AG-1042",
        "mobile": "9876543210",
        "alternate_email": "",
    },
    "competent_authority": {
        "name": "Anita Deshmukh",
        "designation": "Director of Agriculture",
        "official_email": "director@mahaagri.gov.in",
        "mobile": "+91 91234 56789",
    },
    "integration": {
        "wants_integration": "yes",
        "app_1_name": "Mahadbt farmer portal",
        "app_1_purposes": ["otp_alerts", "broadcast"],
        "monthly_volume": "50000",
        "tech_name": "Kiran Joshi",
        "tech_email": "kiran.joshi@mahaagri.gov.in",
        "tech_mobile": "9823012345",
    },
    "declarations": {
        "accept_notice": "on",
        "undertaking_true": "on",
        "undertaking_authorised": "on",
        "undertaking_policy": "on",
    },
}


def minimal_pdf(pages=1):
    """A small valid PDF made with pypdf."""
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
