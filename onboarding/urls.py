from django.urls import path

from onboarding.application import views as application_views
from onboarding.approval import handover_views, timings_views
from onboarding.approval import views as approval_views

app_name = "onboarding"

urlpatterns = [
    path("", application_views.my_applications, name="my_applications"),
    path("start/", application_views.start, name="start"),
    path("privacy-notice/", application_views.privacy_notice, name="privacy_notice"),
    path("organisations/search/", application_views.organisation_picker, name="organisation_picker"),
    path("<int:pk>/", application_views.detail, name="detail"),
    path("<int:pk>/tasks/", application_views.task_list, name="task_list"),
    path("<int:pk>/section/<slug:section>/", application_views.section_edit, name="section"),
    path("<int:pk>/letter/", application_views.letter, name="letter"),
    path("<int:pk>/letter/<int:attachment_id>/", application_views.letter_download, name="letter_download"),
    path("<int:pk>/form.pdf", application_views.form_pdf, name="form_pdf"),
    path("<int:pk>/submit/", application_views.submit, name="submit"),
    path("<int:pk>/withdraw/", application_views.withdraw, name="withdraw"),
    path("<int:pk>/officer/", handover_views.officer_change, name="officer_change"),
    # Approval routing
    path("<int:pk>/appeal/", approval_views.appeal, name="appeal"),
    path("<int:pk>/resend-link/", approval_views.resend_link, name="resend_link"),
    path("<int:pk>/approval-letter.pdf", approval_views.approval_letter, name="approval_letter"),
    # The competent authority's link (review_link) puts the link in the session and
    # sends the browser to the pages below, whose addresses carry no token.
    path("review/", approval_views.review, name="review"),
    path("review/done/", approval_views.review_done, name="review_done"),
    path("review/letter/", approval_views.review_letter, name="review_letter"),
    path("review/form.pdf", approval_views.review_pdf, name="review_pdf"),
    # The documents of one application among the links this browser opened.
    path("review/<int:step_id>/letter/", approval_views.review_letter, name="review_step_letter"),
    path("review/<int:step_id>/form.pdf", approval_views.review_pdf, name="review_step_pdf"),
    path("review/<str:token>/", approval_views.review_link, name="review_link"),
    path("queue/", approval_views.queue, name="queue"),
    path("queue/<int:pk>/", approval_views.queue_step, name="queue_step"),
    path("appeals/", approval_views.appeals, name="appeals"),
    path("appeals/<int:pk>/", approval_views.appeal_step, name="appeal_step"),
    path("timings/", timings_views.approval_timings_page, name="timings"),
]
