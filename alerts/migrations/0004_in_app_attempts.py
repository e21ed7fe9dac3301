"""In-app notifications written before they counted their delivery as an attempt read
"sent" after "0 attempts": they were delivered when written, which is one attempt."""

from django.db import migrations


def count_the_delivery(apps, schema_editor):
    Notification = apps.get_model("alerts", "Notification")
    Notification.objects.filter(channel="in_app", status="sent", attempts=0).update(attempts=1)


class Migration(migrations.Migration):

    dependencies = [
        ('alerts', '0003_things_named'),
    ]

    operations = [
        migrations.RunPython(count_the_delivery, migrations.RunPython.noop, elidable=True),
    ]
