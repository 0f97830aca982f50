"""The shop's endpoints: a paginated JSON list (a query), a template page, a JSON echo (POST)."""

import json

from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from example_shop.models import Item

PAGE_SIZE = 10


def items(request):
    """?page=N of the items, DRF-style: count, next, results (seed 001's API lists)."""
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return HttpResponseBadRequest("page must be a number")
    count = Item.objects.count()
    start = (page - 1) * PAGE_SIZE
    rows = list(Item.objects.values("id", "name", "price_cents")[start:start + PAGE_SIZE])
    following = "/api/items?page={}".format(page + 1) if start + PAGE_SIZE < count else None
    return JsonResponse({"page": page, "count": count, "next": following, "results": rows})


def page(request):
    return render(request, "example_shop/items.html", {"items": Item.objects.all()[:PAGE_SIZE]})


@csrf_exempt
@require_POST
def echo(request):
    try:
        return JsonResponse({"echo": json.loads(request.body)})
    except ValueError:
        return HttpResponseBadRequest("the body must be JSON")
