"""`manage.py webhooks_reprocess --provider NAME`: process stored webhook events again."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from bloom.webhooks import webhook_providers


class Command(BaseCommand):
    help = (
        "Process stored webhook events of one provider again, the same way for every provider. "
        "Takes the unprocessed events (failed, out of attempts, or never woken), oldest first: all of them, "
        "or only the EVENT_IDS given; processed events are left alone unless --include-processed. "
        "Each is marked pending with its attempt count back at zero and applied here and now, one line of "
        "progress per event (--queue hands them to the worker instead). Handlers are idempotent, so an event "
        "applied twice changes nothing. --dry-run lists the events and changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--provider", required=True, choices=sorted(webhook_providers()), help="Whose events to process."
        )
        parser.add_argument("event_ids", nargs="*", help="Bloom event row ids; all unprocessed events when omitted.")
        parser.add_argument("--include-processed", action="store_true", help="Also re-apply processed events.")
        parser.add_argument("--queue", action="store_true", help="Queue for the worker instead of processing here.")
        parser.add_argument("--limit", type=int, default=None, help="At most this many events (oldest first).")
        parser.add_argument("--dry-run", action="store_true", help="List the events that would be processed.")

    def handle(self, *args, provider, event_ids, include_processed, queue, limit, dry_run, **options):
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1.")
        chosen = webhook_providers()[provider]
        selection = {"event_ids": event_ids or None, "include_processed": include_processed, "limit": limit}
        if dry_run:
            ids = chosen.reprocess_select(**selection)
            for event_id in ids:
                self.stdout.write(f"  would process {event_id}")
            self.stdout.write(f"Dry run: {len(ids)} {chosen} event(s) would be processed; nothing changed.")
            return

        def progress(index: int, total: int, event_id: str, outcome: str) -> None:
            self.stdout.write(f"  {index}/{total} {event_id}: {outcome}")

        results = chosen.reprocess(**selection, inline=not queue, progress=progress)
        if queue:
            self.stdout.write(self.style.SUCCESS(f"Queued {len(results)} {chosen} event(s) for processing."))
            return
        failed = sum(outcome.startswith("error") for _event_id, outcome in results)
        style = self.style.WARNING if failed else self.style.SUCCESS
        self.stdout.write(style(f"Processed {len(results)} event(s), {failed} failed."))
