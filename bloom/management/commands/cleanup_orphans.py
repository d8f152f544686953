from django.core.management.base import BaseCommand
from django.db import transaction

from bloom.orphans import orphan_checks


class Command(BaseCommand):
    help = "Find orphaned rows (seed section 4C); with --fix, repair them."

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="repair what is found")

    def handle(self, *args, fix: bool = False, **options):
        checks = orphan_checks()
        total_found = total_fixed = 0
        width = len(checks) or 1
        for index, (label, check) in enumerate(checks, start=1):
            bar = "#" * int(20 * index / width)
            with transaction.atomic():
                queryset = check.find()
                count = queryset.count()
                fixed = check.fix(queryset) if fix and count else 0
            total_found += count
            total_fixed += fixed
            status = f"{count} found" + (f", {fixed} fixed ({check.fix_description})" if fix and count else "")
            self.stdout.write(f"[{bar:<20}] {index}/{width} {label}: {check.name}: {status}")
        summary = f"{len(checks)} checks, {total_found} orphaned rows found"
        summary += f", {total_fixed} repaired." if fix else "; run with --fix to repair." if total_found else "."
        self.stdout.write(self.style.SUCCESS(summary) if not total_found or fix else self.style.WARNING(summary))
