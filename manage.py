#!/usr/bin/env python
import os
import sys

# The developer's tool keeps a development default (docs/adr/0150), and says so on stderr,
# so a command typed by hand on a production host without DJANGO_SETTINGS_MODULE is seen to
# run with development settings. Servers (bloom.wsgi, bloom.asgi, Celery) never fall back.
DEVELOPMENT_SETTINGS = "bloom.settings.dev"


def main() -> None:
    if not os.environ.get("DJANGO_SETTINGS_MODULE", "").strip():
        os.environ["DJANGO_SETTINGS_MODULE"] = DEVELOPMENT_SETTINGS
        sys.stderr.write(
            f"manage.py: DJANGO_SETTINGS_MODULE is not set; using {DEVELOPMENT_SETTINGS} (development only)\n"
        )
    # Every database connection of this run names it, so the audit trail credits writes made
    # outside a request or task to the shell or to the command (bloom/audit.py, docs/adr/0310).
    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    os.environ["PGAPPNAME"] = "bloom:shell" if command in ("shell", "dbshell") else f"bloom:command:{command}"[:63]
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
