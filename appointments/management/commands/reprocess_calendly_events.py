from django.core.management.base import BaseCommand

from appointments.models import CalendlyWebhookEvent
from appointments.services import calendly_events_reprocess


class Command(BaseCommand):
    help = "Process stored Calendly webhook events now: every pending one, or the given event ids (even if processed)."

    def add_arguments(self, parser):
        parser.add_argument("event_ids", nargs="*", help="calendly_webhook_events ids; default: all pending events")

    def handle(self, *args, event_ids: list[str], **options):
        if not event_ids:
            event_ids = [
                str(pk)
                for pk in CalendlyWebhookEvent.objects.filter(processed=False)
                .order_by("created_at")
                .values_list("pk", flat=True)
            ]
        results = calendly_events_reprocess(event_ids=event_ids, inline=True)
        failed = 0
        for event_id, outcome in results:
            failed += outcome.startswith("error")
            self.stdout.write(f"{event_id}: {outcome}")
        self.stdout.write(self.style.SUCCESS(f"Processed {len(results)} event(s), {failed} failed."))
