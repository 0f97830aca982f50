"""Django views serving the benchmark endpoints (see tools/benchmatrix/matrix/scenarios.py)."""

import time

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

from apps import workloads

# Compact like Flask's JSON, so both apps send the same payload (Flask adds a final newline).
COMPACT = {"separators": (",", ":")}


def json_response(data, status=200):
    return JsonResponse(data, status=status, safe=False, json_dumps_params=COMPACT)


def bad_parameter(error):
    return json_response({"error": str(error)}, status=400)


def json_endpoint(request):
    return JsonResponse({"message": "Hello, World!"})


def plaintext_endpoint(request):
    return HttpResponse("Hello, World!", content_type="text/plain")


def agents(request):
    return json_response(workloads.agents_on_new_connection())


def agents_with_pool(request):
    return json_response(workloads.agents_from_pool())


def agents_template(request):
    return render(request, "agents.html", {"agents": workloads.agents_from_pool()})


def sleep(request):
    try:
        duration_ms = workloads.milliseconds(request.GET.get("ms"))
    except workloads.BadParameter as error:
        return bad_parameter(error)
    time.sleep(duration_ms / 1000.0)  # monkey-patched under gevent/eventlet: the worker serves others meanwhile
    return json_response({"slept_ms": duration_ms})


def db_sleep(request):
    try:
        duration_s = workloads.seconds(request.GET.get("s"))
    except workloads.BadParameter as error:
        return bad_parameter(error)
    workloads.database_sleep(duration_s)
    return json_response({"db_slept_s": duration_s})


def upstream(request):
    return json_response({"upstream": workloads.upstream_answer()})


def upstream_fanout(request):
    return json_response({"calls": workloads.FANOUT_CALLS, "ok": workloads.upstream_fanout()})
