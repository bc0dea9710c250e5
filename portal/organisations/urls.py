from django.urls import path

from portal.organisations import views

app_name = "organisations"

urlpatterns = [
    path("domain-claims/", views.domain_claims, name="domain_claims"),
    path("domain-claims/<int:pk>/accept/", views.domain_claim_accept, name="domain_claim_accept"),
]
