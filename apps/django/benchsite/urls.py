from django.urls import path

from apps.django.benchsite import views

urlpatterns = [
    path("json", views.json_endpoint),
    path("plaintext", views.plaintext_endpoint),
    path("agents", views.agents),
    path("agents_with_pool", views.agents_with_pool),
    path("template", views.agents_template),
    path("sleep", views.sleep),
    path("db_sleep", views.db_sleep),
    path("upstream", views.upstream),
    path("upstream_fanout", views.upstream_fanout),
]
