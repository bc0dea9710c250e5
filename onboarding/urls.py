from django.urls import path

from onboarding import views

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
]
