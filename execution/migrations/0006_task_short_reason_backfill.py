"""Tasks completed short before Task.short_reason existed: the reason of their last short
completion (TaskActivity), so the work-order page shows why."""

from django.db import migrations


def backfill(apps, schema_editor):
    Task = apps.get_model("planning", "Task")
    TaskActivity = apps.get_model("execution", "TaskActivity")
    completions = (TaskActivity.objects.filter(kind="complete", short_qty__gt=0,
                                               task__qty_short__gt=0, task__short_reason="")
                   .order_by("task_id", "at", "id").values_list("task_id", "reason"))
    last = dict(completions.iterator())  # the latest completion of each task wins
    for task_id, reason in last.items():
        if reason:
            Task.objects.filter(pk=task_id).update(short_reason=reason[:200])


class Migration(migrations.Migration):

    dependencies = [
        ('execution', '0005_task_activity_short'),
        ('planning', '0011_task_short_reason'),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
