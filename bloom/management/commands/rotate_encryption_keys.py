from django.core.management.base import BaseCommand, CommandError

from bloom.crypto import EncryptionKeyError, RotationProgress, encryption_keys_rotate
from bloom.progress import progress_bar

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column of every app (profile stage and dates, wellness scores and notes, "
        "screening answers, session notes, workshop feedback, Calendly intake answers ...) and every encrypted "
        "file (CVs) under the newest key of BLOOM_FIELD_ENCRYPTION_KEYS, with a progress bar per field. Run after "
        "prepending a new key; remove the old key afterwards. Refuses, changing nothing, when any stored value "
        "cannot be read with the configured keys."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")

        def progress(state: RotationProgress) -> None:
            bar = progress_bar(state.seen, state.total or 1, width=BAR_WIDTH)
            self.stdout.write(f"\r{state.label} {bar} {state.seen}/{state.total}", ending="")
            if state.finished:
                self.stdout.write("")
                self.stdout.write(f"{state.label}: re-encrypted {state.rotated}")
            self.stdout.flush()

        try:
            result = encryption_keys_rotate(batch_size=batch_size, progress=progress)
        except EncryptionKeyError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Rotated {result.rotated} value(s) in {len(result.per_field)} field(s); "
                f"{result.current} already under the newest key."
            )
        )
