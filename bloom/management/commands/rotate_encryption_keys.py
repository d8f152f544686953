from django.core.management.base import BaseCommand

from bloom.crypto import RotationProgress, encryption_keys_rotate

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column of every app (session notes, wellness notes, screening answers ...) "
        "under the newest key of BLOOM_FIELD_ENCRYPTION_KEYS, with a progress bar per column. Run after "
        "prepending a new key; remove the old key afterwards."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options):
        def progress(state: RotationProgress) -> None:
            filled = BAR_WIDTH * state.seen // (state.total or 1)
            bar = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}]"
            self.stdout.write(f"\r{state.label} {bar} {state.seen}/{state.total}", ending="")
            if state.finished:
                self.stdout.write("")
                self.stdout.write(f"{state.label}: re-encrypted {state.rotated}")
            self.stdout.flush()

        result = encryption_keys_rotate(batch_size=batch_size, progress=progress)
        self.stdout.write(
            self.style.SUCCESS(
                f"Rotated {result.rotated} value(s) in {len(result.per_field)} field(s); "
                f"{result.current} already under the newest key."
            )
        )
