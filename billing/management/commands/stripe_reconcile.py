from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from billing import services, stripe_client, webhooks


def _since(value: str):
    if value.endswith(("h", "d")) and value[:-1].isdigit():
        amount = int(value[:-1])
        return timezone.now() - (timedelta(hours=amount) if value.endswith("h") else timedelta(days=amount))
    parsed = parse_datetime(value)
    if parsed is None:
        raise CommandError("--since takes an ISO date-time or a span such as 6h or 3d.")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


class Command(BaseCommand):
    help = (
        "Fetch recent events from Stripe and store (and process) the ones Bloom never received, "
        "then ask Stripe again about every request it never answered (checks with Stripe)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", default="24h", help="ISO date-time, or a span such as 6h or 3d (default 24h).")

    def handle(self, *args, since, **options):
        start = _since(since)
        self.stdout.write(f"Fetching Stripe events created since {start.isoformat()} ...")
        try:
            fetched, inserted = webhooks.stripe_events_reconcile(
                since=start,
                progress=lambda done, new: self.stdout.write(f"  ... {done} fetched, {new} missing so far"),
            )
        except stripe_client.StripeCallError as exc:
            raise CommandError(f"Stripe did not answer: {exc.message}") from exc
        self.stdout.write(f"Fetched {fetched} event(s); stored {inserted} missing event(s) for processing.")
        counts = services.stripe_checks_reconcile()
        summary = ", ".join(f"{count} {result}" for result, count in sorted(counts.items())) or "none open"
        self.stdout.write(f"Checks with Stripe: {summary}.")
