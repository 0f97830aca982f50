from django.urls import path

from apps.django.benchsite import views

urlpatterns = [
    path("json", views.json_endpoint),
    path("plaintext", views.plaintext_endpoint),
]
