from django.core.management.base import BaseCommand

from workshops.models import ZoomWebhookEvent
from workshops.zoom import zoom_event_process


class Command(BaseCommand):
    help = "Process stored Zoom webhook events that are still unprocessed (e.g. after a fix)."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500)

    def handle(self, *args, limit: int, **options):
        ids = list(
            ZoomWebhookEvent.objects.filter(processed=False).order_by("created_at").values_list("pk", flat=True)[:limit]
        )
        failed = 0
        for index, event_id in enumerate(ids, start=1):
            try:
                outcome = zoom_event_process(event_id=str(event_id))
            except Exception as exc:  # stored on the row; keep going
                failed += 1
                outcome = f"failed: {type(exc).__name__}"
            self.stdout.write(f"  {index}/{len(ids)} {event_id}: {outcome}")
        self.stdout.write(self.style.SUCCESS(f"{len(ids) - failed} events processed, {failed} failed."))
