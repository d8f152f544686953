"""The screening points a fresh install offers (staff change them in the admin).

EPDS each trimester and at 2 and 6 weeks, 3, 6 and 12 months after birth; the EPDS is
validated in pregnancy as well as after birth. Reversing removes only these rows, and only
while no member has reached them.
"""

from django.db import migrations

DEFAULT_POINTS = [
    ("First trimester", "pregnant", 10, 3),
    ("Second trimester", "pregnant", 20, 4),
    ("Third trimester", "pregnant", 32, 4),
    ("Two weeks after birth", "postpartum", 2, 2),
    ("Six weeks after birth", "postpartum", 6, 3),
    ("Three months after birth", "postpartum", 13, 4),
    ("Six months after birth", "postpartum", 26, 6),
    ("Twelve months after birth", "postpartum", 52, 8),
]


def add_points(apps, schema_editor):
    point_model = apps.get_model("accounts", "ScreeningSchedulePoint")
    for name, stage, week, window in DEFAULT_POINTS:
        point_model.objects.get_or_create(
            stage=stage, week=week, instrument="epds", defaults={"name": name, "window_weeks": window}
        )


def remove_points(apps, schema_editor):
    point_model = apps.get_model("accounts", "ScreeningSchedulePoint")
    for _name, stage, week, _window in DEFAULT_POINTS:
        point_model.objects.filter(stage=stage, week=week, instrument="epds", members__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_screening_and_risk_alerts")]

    operations = [migrations.RunPython(add_points, remove_points)]
