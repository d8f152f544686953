"""Seed section 3: user_notifications.user_id REFERENCES users ON DELETE CASCADE in the database too."""

from django.db import migrations

FORWARD = """
DO $$
DECLARE name text;
BEGIN
    SELECT conname INTO name FROM pg_constraint
    WHERE conrelid = 'user_notifications'::regclass AND contype = 'f'
      AND conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = 'user_notifications'::regclass AND attname = 'user_id')];
    EXECUTE format('ALTER TABLE user_notifications DROP CONSTRAINT %I', name);
    EXECUTE format('ALTER TABLE user_notifications ADD CONSTRAINT %I FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED', name);
END $$;
"""

BACKWARD = FORWARD.replace(" ON DELETE CASCADE", "")


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
