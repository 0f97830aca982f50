"""Django views serving the benchmark endpoints (see tools/benchmatrix/scenarios.py)."""

from django.http import HttpResponse, JsonResponse


def json_endpoint(request):
    return JsonResponse({"message": "Hello, World!"})


def plaintext_endpoint(request):
    return HttpResponse("Hello, World!", content_type="text/plain")
