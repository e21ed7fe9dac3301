"""Equipment kind: an unplanned stop that has lasted longer than N minutes."""

import datetime

from django.db.models import Q

from alerts.kinds import Kind
from alerts.rules.base import Candidate, Evaluator, local, minutes_between, scope_q
from execution.models import DowntimeEvent


class Downtime(Evaluator):
    kind = Kind.DOWNTIME
    subject_model = DowntimeEvent
    values = ("pk", "start", "equipment_id", "equipment__code", "equipment__work_center_id",
              "equipment__work_center__line_id", "equipment__work_center__line__workshop_id",
              "equipment__work_center__lead_id", "reason__code", "reason__name", "reason__name_en")

    def queryset(self, rule, now):
        since = now - datetime.timedelta(minutes=rule.minutes or 0)
        return DowntimeEvent.objects.filter(scope_q(rule, "equipment__work_center"),
                                            end__isnull=True, planned=False, start__lt=since)

    def focus_q(self, focus):
        return Q(equipment_id__in=focus.equipment_ids) if focus.equipment_ids else None

    def alert_focus_q(self, focus):
        return Q(equipment_id__in=focus.equipment_ids)

    def candidate(self, row, rule, now):
        return Candidate(
            object_id=row["pk"], subject_repr=f"{row['equipment__code']} {local(row['start'])}",
            data={"equipment": row["equipment__code"], "since": local(row["start"]),
                  "minutes": minutes_between(row["start"], now),
                  "reason": row["reason__name"] or row["reason__code"] or "",
                  # Shown in the reader's language by alerts.messages.
                  "reason_en": row["reason__name_en"] or ""},
            equipment_id=row["equipment_id"], work_center_id=row["equipment__work_center_id"],
            line_id=row["equipment__work_center__line_id"],
            workshop_id=row["equipment__work_center__line__workshop_id"],
            lead_id=row["equipment__work_center__lead_id"])
