from django.urls import path

from portal.organisations import details_views, domain_views, status_views, views

app_name = "organisations"

urlpatterns = [
    path("domain-claims/", views.domain_claims, name="domain_claims"),
    path("domain-claims/<int:pk>/accept/", views.domain_claim_accept, name="domain_claim_accept"),
    path("<int:pk>/", status_views.status, name="status"),
    path("<int:pk>/suspend/", status_views.suspend, name="suspend"),
    path("<int:pk>/reactivate/", status_views.reactivate, name="reactivate"),
    path("<int:pk>/details/", details_views.details, name="details"),
    path("<int:pk>/move/", status_views.move, name="move"),
    path("<int:pk>/domains/add/", domain_views.domain_add, name="domain_add"),
    path("<int:pk>/domains/<int:domain_pk>/remove/", domain_views.domain_remove, name="domain_remove"),
]
