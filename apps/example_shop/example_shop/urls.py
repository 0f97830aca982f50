from django.contrib.auth.views import LoginView
from django.urls import path

from example_shop import views

urlpatterns = [
    path("api/items", views.items),
    path("items/", views.page),
    path("api/echo", views.echo),
    path("accounts/login/", LoginView.as_view()),
]
