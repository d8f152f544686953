from django.core.management.base import BaseCommand

from billing import webhooks


class Command(BaseCommand):
    help = "Queue unprocessed (failed or stuck) Stripe events for processing again."

    def add_arguments(self, parser):
        parser.add_argument("event_ids", nargs="*", help="Bloom event row ids; all unprocessed events when omitted.")

    def handle(self, *args, event_ids, **options):
        count = webhooks.stripe_events_reprocess(event_ids=event_ids or None)
        self.stdout.write(f"Queued {count} Stripe event(s) for processing.")
