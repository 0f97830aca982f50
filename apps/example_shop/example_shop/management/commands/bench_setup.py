"""`python -m django bench_setup`: the benchmark's user (bench/bench) and 25 items, idempotent."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from example_shop.models import Item

ITEMS = 25


class Command(BaseCommand):
    help = "Create the benchmark user and the items the scenarios expect"

    def handle(self, *args, **options):
        users = get_user_model()
        if not users.objects.filter(username="bench").exists():
            users.objects.create_user("bench", password="bench")
        if Item.objects.count() != ITEMS:
            Item.objects.all().delete()
            Item.objects.bulk_create(Item(name="item {:02d}".format(n), price_cents=100 * n)
                                     for n in range(1, ITEMS + 1))
        self.stdout.write("bench user and {} items ready".format(ITEMS))
