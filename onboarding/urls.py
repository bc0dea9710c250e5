from django.urls import path

from onboarding import views, views_approval

app_name = "onboarding"

urlpatterns = [
    path("", views.my_applications, name="my_applications"),
    path("start/", views.start, name="start"),
    path("privacy-notice/", views.privacy_notice, name="privacy_notice"),
    path("organisations/search/", views.organisation_picker, name="organisation_picker"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/tasks/", views.task_list, name="task_list"),
    path("<int:pk>/section/<slug:section>/", views.section_edit, name="section"),
    path("<int:pk>/letter/", views.letter, name="letter"),
    path("<int:pk>/letter/<int:attachment_id>/", views.letter_download, name="letter_download"),
    path("<int:pk>/form.pdf", views.form_pdf, name="form_pdf"),
    path("<int:pk>/submit/", views.submit, name="submit"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    # Approval routing
    path("<int:pk>/appeal/", views_approval.appeal, name="appeal"),
    path("<int:pk>/resend-link/", views_approval.resend_link, name="resend_link"),
    path("<int:pk>/approval-letter.pdf", views_approval.approval_letter, name="approval_letter"),
    path("review/<str:token>/", views_approval.review, name="review"),
    path("review/<str:token>/done/", views_approval.review_done, name="review_done"),
    path("review/<str:token>/letter/", views_approval.review_letter, name="review_letter"),
    path("review/<str:token>/form.pdf", views_approval.review_pdf, name="review_pdf"),
    path("queue/", views_approval.queue, name="queue"),
    path("queue/<int:pk>/", views_approval.queue_step, name="queue_step"),
    path("appeals/", views_approval.appeals, name="appeals"),
    path("appeals/<int:pk>/", views_approval.appeal_step, name="appeal_step"),
]
