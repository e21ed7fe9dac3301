"""Celery tasks of the dashboards app.

Beat runs `dashboards.tasks.report_days_roll_up_task` every hour (the entry is added to the
Celery app's beat_schedule by DashboardsConfig.ready): it adds the days closed since the last
run to the work-report rollup. Missing a run costs speed, never correctness: pages read raw
reports for every day the rollup does not hold yet.
"""

from celery import shared_task

ROLL_UP_SECONDS = 3600


@shared_task(ignore_result=True)
def report_days_roll_up_task() -> int:
    from dashboards.services import report_days_roll_up

    return report_days_roll_up()
