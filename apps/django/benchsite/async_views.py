"""Async views of the django-async app: views.py's paths, bodies and errors, each wait awaited.

Bodies are built exactly as in views.py (its json_response and bad_parameter are
reused), so each endpoint answers byte for byte what the sync app does; how each
wait is async is in async_workloads.py.
"""

import asyncio

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

from apps import workloads
from apps.django.benchsite import async_workloads
from apps.django.benchsite.views import bad_parameter, json_response


async def json_endpoint(request):
    return JsonResponse({"message": "Hello, World!"})


async def plaintext_endpoint(request):
    return HttpResponse("Hello, World!", content_type="text/plain")


async def agents(request):
    return json_response(await async_workloads.agents_on_new_connection())


async def agents_with_pool(request):
    return json_response(await async_workloads.agents_from_pool())


async def agents_template(request):
    agents = await async_workloads.agents_from_pool()
    # Rendering does no I/O (the rows are fetched): it runs here, on the event loop, as it would in any async view.
    return render(request, "agents.html", {"agents": agents})


async def sleep(request):
    try:
        duration_ms = workloads.milliseconds(request.GET.get("ms"))
    except workloads.BadParameter as error:
        return bad_parameter(error)
    await asyncio.sleep(duration_ms / 1000.0)
    return json_response({"slept_ms": duration_ms})


async def db_sleep(request):
    try:
        duration_s = workloads.seconds(request.GET.get("s"))
    except workloads.BadParameter as error:
        return bad_parameter(error)
    await async_workloads.database_sleep(duration_s)
    return json_response({"db_slept_s": duration_s})


async def upstream(request):
    return json_response({"upstream": await async_workloads.upstream_answer()})


async def upstream_fanout(request):
    return json_response({"calls": workloads.FANOUT_CALLS, "ok": await async_workloads.upstream_fanout()})
