"""The sync app's paths (urls.py), served by async views."""

from django.urls import path

from apps.django.benchsite import async_views

urlpatterns = [
    path("json", async_views.json_endpoint),
    path("plaintext", async_views.plaintext_endpoint),
    path("agents", async_views.agents),
    path("agents_with_pool", async_views.agents_with_pool),
    path("template", async_views.agents_template),
    path("sleep", async_views.sleep),
    path("db_sleep", async_views.db_sleep),
    path("upstream", async_views.upstream),
    path("upstream_fanout", async_views.upstream_fanout),
]
