from django.core.management.base import BaseCommand

from appointments.services import encryption_keys_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column (session notes, wellness notes ...) under the newest key "
        "of BLOOM_FIELD_ENCRYPTION_KEYS. Run after prepending a new key; remove the old key afterwards."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options):
        result = encryption_keys_rotate(
            batch_size=batch_size,
            progress=lambda label, rotated: self.stdout.write(f"{label}: re-encrypted {rotated}"),
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Rotated {result.rotated} value(s) in {len(result.per_field)} field(s); "
                f"{result.current} already under the newest key."
            )
        )
