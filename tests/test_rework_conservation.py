"""Quantity conservation through reports, inspections, failures and rework loops.

DESIGN: for each step, good + scrap ≤ what the previous step passed on (the work-order
quantity for the first); rework moves quantity back, never creates it. Here "good + scrap"
counts every unit the step has taken from its input: good, scrap, its units in rework (they
were reported good and failed inspection) and what it was completed short by.

The sequences are replayed through the real services (the ones the stations, the QC pages and
the demo simulator call); the invariant is checked after every step, and at the end the work
order is finished and must be accepted (its reconciliation balances).
"""

import contextlib
import threading
import time
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from execution.selectors import dispatch_row, dispatch_tasks
from execution.services.reporting import task_complete, task_report_quantity
from mes.models import AuditEntry
from planning.models import Task, WorkOrder
from quality.models import Inspection, Nonconformance
from quality.services.acceptance import acceptance_blockers, reconciliation, work_order_accept
from quality.services.inspections import inspection_record
from quality.services.nonconformance import nonconformance_disposition
from tests.factories_execution import released_order, scrap_reason
from tests.factories_quality import DefectCodeFactory, measured_plan

pytestmark = pytest.mark.django_db

SHORT = "lost in transport"


@pytest.fixture
def people(make_user):
    return {"op": make_user("operator"), "qc": make_user("qc_inspector"),
            "lead": make_user("workshop_lead"), "mgr": make_user("manager")}


@contextlib.contextmanager
def rolled_back():
    """One example's writes, undone afterwards."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def qc_work_order(plan, qty="9", waits=True):
    """Four steps as in the demo's final assembly: step 2 a QC checkpoint the next step waits
    for (`waits`; else step 3 may take its units before they are inspected), step 4 a last QC
    checkpoint nobody waits for."""
    wo, tasks, wc = released_order(steps=4, qty=qty)
    Task.objects.filter(pk=tasks[1].pk).update(is_qc_checkpoint=True, wait_for_qc=waits,
                                                inspection_plan_code=plan.code)
    Task.objects.filter(pk=tasks[3].pk).update(is_qc_checkpoint=True,
                                                inspection_plan_code=plan.code)
    return wo, wc


def conservation_problems(wo: WorkOrder) -> list[str]:
    """Every step that holds more than it was given, or a rework task more than its lot."""
    problems = []
    passed_on = wo.quantity
    for t in Task.objects.filter(work_order=wo).exclude(status="cancelled").order_by("seq",
                                                                                     "id"):
        if t.kind == Task.Kind.REWORK:
            if t.qty_good + t.qty_scrap > t.quantity:
                problems.append(f"rework {t.pk}: {t.qty_good}+{t.qty_scrap} > {t.quantity}")
            continue
        taken = t.qty_good + t.qty_scrap + t.qty_rework + t.qty_short
        if taken > passed_on:
            problems.append(f"step {t.seq}: good {t.qty_good} + scrap {t.qty_scrap} + rework "
                            f"{t.qty_rework} + short {t.qty_short} > {passed_on} passed on")
        if t.qty_qc_accepted > t.qty_good:
            problems.append(f"step {t.seq}: {t.qty_qc_accepted} accepted > {t.qty_good} good")
        passed_on = t.qty_qc_accepted if t.wait_for_qc else t.qty_good
    return problems


class Floor:
    """The people of one work order, acting through the services."""

    def __init__(self, wo, wc, people, plan):
        self.wo, self.wc, self.people, self.plan = wo, wc, people, plan
        self.defect = DefectCodeFactory(code="D01")
        self.reason = scrap_reason()

    def steps(self):
        return list(self.wo.tasks.filter(kind=Task.Kind.NORMAL).order_by("seq"))

    def rework_tasks(self):
        return list(self.wo.tasks.filter(kind=Task.Kind.REWORK).order_by("pk"))

    @staticmethod
    def pick(items, n):
        return items[n % len(items)] if items else None

    def report(self, task, good, scrap):
        if task is None or good + scrap <= 0:
            return
        task_report_quantity(operator=self.people["op"], task=task, work_center=self.wc,
                             client_token=uuid.uuid4().hex, good=good, scrap=scrap,
                             scrap_reason=self.reason if scrap else None)

    def inspect(self, insp, failed):
        if insp is None:
            return
        chars = list(insp.plan.characteristics.all()) if insp.plan else []
        bad = failed > 0
        results = {ch.pk: {"value": "10.2" if bad else "10"} for ch in chars}
        inspection_record(inspector=self.people["qc"], inspection=insp, results=results,
                          qty_failed=min(failed, insp.quantity) if bad else None,
                          defect_code=self.defect if bad else None,
                          verdict=None if chars else ("failed" if bad else "passed"))

    def decide(self, nc, choice):
        if nc is None:
            return
        actor = self.people["mgr"] if choice == "use_as_is" else self.people["qc"]
        nonconformance_disposition(actor=actor, nonconformance=nc, disposition=choice,
                                   reason="decided in the test")

    def complete(self, task):
        if task is None:
            return
        task_complete(operator=self.people["op"], task=task, work_center=self.wc,
                      client_token=uuid.uuid4().hex, short_reason=SHORT)

    def workable(self):
        """What the station's dispatch list offers to report on this work order, with what
        it shows as remaining (operators report from it, as the simulator does)."""
        rows = [dispatch_row(t) for t in dispatch_tasks(self.wc).filter(work_order=self.wo)]
        return [(row.task, row.remaining) for row in rows if row.remaining > 0]

    def act(self, action, a, b, c):
        if action == "report":
            picked = self.pick(self.workable(), a)
            if picked is not None:
                task, remaining = picked
                units = remaining if b == 4 else min(remaining, b + 1)
                scrap = 1 if c == 3 and units > 1 else 0
                self.report(task, units - scrap, scrap)
        elif action == "inspect":
            pending = list(Inspection.objects.filter(work_order=self.wo, status="pending")
                           .order_by("pk"))
            self.inspect(self.pick(pending, a), (b % 3) + 1 if c < 2 else 0)
        elif action == "decide":
            open_ncs = list(Nonconformance.objects.filter(work_order=self.wo, status="open",
                                                          disposition="pending").order_by("pk"))
            self.decide(self.pick(open_ncs, a), ("rework", "rework", "scrap", "use_as_is",
                                                 "rework")[b])
        elif action == "complete":
            self.complete(self.pick([t for t in self.wo.tasks.order_by("seq", "pk")
                                     if t.status not in ("done", "cancelled")], a))

    def finish(self):
        """Take the work order to acceptance as people would: inspect what waits, scrap what
        failed, finish the rework, report what is left, complete the rest."""
        for _round in range(12):
            self.wo.refresh_from_db()
            waiting = (Inspection.objects.filter(work_order=self.wo, status="pending").exists()
                       or Nonconformance.objects.filter(work_order=self.wo, status="open")
                       .exists())
            if self.wo.status == WorkOrder.Status.AWAITING_ACCEPTANCE and not waiting:
                return True
            for insp in Inspection.objects.filter(work_order=self.wo, status="pending"):
                self.inspect(insp, 0)
            for nc in Nonconformance.objects.filter(work_order=self.wo, status="open",
                                                    disposition="pending"):
                try:
                    self.decide(nc, "scrap")
                except ValidationError:  # its units went on to the next step: not here
                    self.decide(nc, "use_as_is")
            for task in self.rework_tasks():
                if task.status != "done":
                    self.report(task, task.quantity - task.qty_good - task.qty_scrap, 0)
            for insp in Inspection.objects.filter(work_order=self.wo, status="pending"):
                self.inspect(insp, 0)
            passed_on = self.wo.quantity
            for task in self.steps():
                if passed_on == 0 and task.qty_good + task.qty_scrap + task.qty_rework == 0 \
                        and not waiting and all(t.status == "done" for t in self.rework_tasks()):
                    return False  # every unit was scrapped before this step: nothing to accept
                left = passed_on - task.qty_good - task.qty_scrap - task.qty_rework
                if task.status != "done" and left > 0:
                    self.report(task, left, 0)
                    task.refresh_from_db()
                    for insp in Inspection.objects.filter(task=task, status="pending"):
                        self.inspect(insp, 0)
                    task.refresh_from_db()
                passed_on = task.qty_qc_accepted if task.wait_for_qc else task.qty_good
            for task in self.wo.tasks.order_by("seq", "pk"):
                task.refresh_from_db()
                if task.status not in ("done", "cancelled"):
                    with contextlib.suppress(ValidationError):
                        self.complete(task)
        raise AssertionError(f"{self.wo} could not be finished: {acceptance_blockers(self.wo)}")


ACTIONS = ("report",) * 6 + ("inspect",) * 3 + ("decide",) * 2 + ("complete",)
action = st.tuples(st.sampled_from(ACTIONS), st.integers(0, 3), st.integers(0, 4),
                   st.integers(0, 3))
SAMPLING = ("every", "first", "n_per_lot")


def replay(people, plans, sampling, actions, qty="9", waits=True):
    plan = plans[sampling]
    wo, wc = qc_work_order(plan, qty=qty, waits=waits)
    floor = Floor(wo, wc, people, plan)
    for i, (kind, a, b, c) in enumerate(actions):
        with contextlib.suppress(ValidationError):  # a refusal changes nothing
            floor.act(kind, a, b, c)
        problems = conservation_problems(wo)
        assert not problems, f"after action {i} {(kind, a, b, c)}: {problems}"
    finished = floor.finish()
    assert not conservation_problems(wo)
    if not finished:
        return wo
    wo.refresh_from_db()
    assert reconciliation(wo) == []
    assert acceptance_blockers(wo) == []
    work_order_accept(actor=people["lead"], work_order=wo, reason="accepted in the test")
    return wo


@pytest.fixture
def plans():
    return {s: measured_plan(sampling=s, sample_n=2, max_rework_loops=2) for s in SAMPLING}


# No shrinking: a failure names the action and the quantities; shrinking one costs minutes.
@settings(max_examples=60, deadline=None, derandomize=True, database=None, print_blob=True,
          phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(sampling=st.sampled_from(SAMPLING), waits=st.booleans(),
       actions=st.lists(action, min_size=4, max_size=30))
# Step 1 passes 3 on, the QC step reports them, 1 fails and goes to rework: the station offered
# the QC step 1 more (the one in rework), which came back as good too.
@example(sampling="every", waits=True,
         actions=[("report", 0, 2, 0), ("report", 1, 2, 0), ("inspect", 0, 0, 0),
                  ("decide", 0, 0, 0), ("report", 2, 0, 0), ("inspect", 0, 0, 2)])
# The QC step does not hold step 3: step 3 takes all 9 before the inspection fails 3, which
# cannot then be scrapped (or reworked) at the QC step: step 3 would hold 9 good of 6.
@example(sampling="every", waits=False,
         actions=[("report", 0, 4, 0), ("report", 0, 4, 0), ("report", 0, 4, 0),
                  ("inspect", 0, 2, 0), ("decide", 0, 2, 0), ("decide", 0, 0, 0)])
def test_random_rework_sequences_conserve_quantity(people, plans, sampling, waits, actions):
    with rolled_back():
        replay(people, plans, sampling, actions, waits=waits)


def test_units_in_rework_are_not_reported_again(people, plans):
    """The demo's PO20261114-0013-001: a QC step reports the 9 units the step before passed
    on, 2 fail and go to rework, and the station could report 2 more good while they were
    away; back from rework they made 11 good out of 9."""
    plan = plans["every"]
    wo, wc = qc_work_order(plan, qty="10")
    floor = Floor(wo, wc, people, plan)
    first, qc_step = floor.steps()[:2]
    floor.report(first, 9, 0)  # one more to come: the QC step stays open
    floor.report(qc_step, 9, 0)
    floor.inspect(Inspection.objects.get(task=qc_step), 2)
    floor.decide(Nonconformance.objects.get(), "rework")
    with pytest.raises(ValidationError, match="Only 0 left"):
        floor.report(qc_step, 2, 0)
    rework = floor.rework_tasks()[0]
    with pytest.raises(ValidationError, match=r"Only 2 left.*\(2 came back for rework, 0 already"):
        floor.report(rework, 3, 0)
    floor.report(rework, 2, 0)
    floor.inspect(Inspection.objects.get(task=rework), 0)
    qc_step.refresh_from_db()
    assert (qc_step.qty_good, qc_step.qty_rework, qc_step.qty_qc_accepted) == (9, 0, 9)
    assert not conservation_problems(wo)


def test_completed_short_with_units_in_rework(people, plans):
    """Completing a step whose own units are in rework: they are not short (they come back)."""
    plan = plans["every"]
    wo, wc = qc_work_order(plan)
    floor = Floor(wo, wc, people, plan)
    first, qc_step = floor.steps()[:2]
    floor.report(first, 9, 0)
    floor.report(qc_step, 7, 0)
    floor.inspect(Inspection.objects.get(task=qc_step), 2)
    floor.decide(Nonconformance.objects.get(), "rework")
    floor.complete(qc_step)
    qc_step.refresh_from_db()
    assert (qc_step.qty_good, qc_step.qty_rework, qc_step.qty_short) == (5, 2, 2)
    rework = floor.rework_tasks()[0]
    with pytest.raises(ValidationError, match=r"Only 2 left.*\(2 came back for rework, 0 already"):
        floor.report(rework, 3, 0)
    floor.report(rework, 2, 0)
    floor.inspect(Inspection.objects.get(task=rework), 0)
    qc_step.refresh_from_db()
    assert qc_step.qty_good + qc_step.qty_short == 9
    assert not conservation_problems(wo)


def closed_and_accepted(floor, people):
    """The work order's nonconformances are all closed; it finishes and is accepted."""
    assert list(Nonconformance.objects.filter(work_order=floor.wo)
                .exclude(status="closed").values_list("number", "status")) == []
    assert floor.finish()
    floor.wo.refresh_from_db()
    assert acceptance_blockers(floor.wo) == []
    work_order_accept(actor=people["lead"], work_order=floor.wo, reason="accepted in the test")


def test_reinspection_passed_as_is_closes_the_nonconformance(people, plans):
    """A first-article plan inspects only a step's first lot: the re-inspection of its rework
    passes as is, with nobody recording it, and must still close the nonconformance."""
    plan = plans["first"]
    wo, wc = qc_work_order(plan, qty="4")
    floor = Floor(wo, wc, people, plan)
    first, qc_step = floor.steps()[:2]
    floor.report(first, 4, 0)
    floor.report(qc_step, 4, 0)
    floor.inspect(Inspection.objects.get(task=qc_step), 1)
    floor.decide(Nonconformance.objects.get(), "rework")
    rework = floor.rework_tasks()[0]
    floor.report(rework, 1, 0)
    assert Inspection.objects.get(task=rework).status == "passed"
    closed_and_accepted(floor, people)


def test_rework_lot_ending_in_scrap_closes_the_nonconformance(people, plans):
    """The last unit of a rework lot is scrapped: nothing is left to re-inspect, so the lot's
    nonconformance is closed by that report."""
    plan = plans["every"]
    wo, wc = qc_work_order(plan, qty="4")
    floor = Floor(wo, wc, people, plan)
    first, qc_step = floor.steps()[:2]
    floor.report(first, 4, 0)
    floor.report(qc_step, 4, 0)
    floor.inspect(Inspection.objects.get(task=qc_step), 2)
    floor.decide(Nonconformance.objects.get(), "rework")
    rework = floor.rework_tasks()[0]
    floor.report(rework, 1, 0)
    floor.inspect(Inspection.objects.get(task=rework), 0)
    assert Nonconformance.objects.get().status == "in_rework"  # one unit still to rework
    floor.report(rework, 0, 1)
    qc_step.refresh_from_db()
    assert (qc_step.qty_good, qc_step.qty_scrap, qc_step.qty_rework) == (3, 1, 0)
    closed_and_accepted(floor, people)


def test_a_rework_lot_is_not_completed_short(people, plans):
    """A rework task's units were all handed to it: completing it short would leave them in
    the step's rework count and its nonconformance open for ever (acceptance refused)."""
    plan = plans["every"]
    wo, wc = qc_work_order(plan, qty="4")
    floor = Floor(wo, wc, people, plan)
    first, qc_step = floor.steps()[:2]
    floor.report(first, 4, 0)
    floor.report(qc_step, 4, 0)
    floor.inspect(Inspection.objects.get(task=qc_step), 2)
    floor.decide(Nonconformance.objects.get(), "rework")
    rework = floor.rework_tasks()[0]
    floor.report(rework, 1, 0)
    floor.inspect(Inspection.objects.get(task=rework), 0)
    with pytest.raises(ValidationError, match="report each one as good or scrap") as refused:
        floor.complete(rework)
    assert refused.value.code == "rework_short"
    rework.refresh_from_db()
    assert rework.status == "in_progress"
    floor.report(rework, 0, 1)
    closed_and_accepted(floor, people)


def test_units_gone_on_are_not_scrapped_or_reworked_at_the_checkpoint(people, plans):
    """10 → 20 (QC checkpoint) → 30 not waiting for QC, 10 good at each step: the inspection
    at 20 fails 3. They went on to 30 already: scrapping or reworking them at 20 would leave
    30 with 10 good from 7 and the work order could never be accepted. Refused, nothing
    written; use as is stays open and the work order is accepted."""
    plan = plans["every"]
    wo, tasks, wc = released_order(steps=3, qty="10")
    Task.objects.filter(pk=tasks[1].pk).update(is_qc_checkpoint=True,
                                                inspection_plan_code=plan.code)
    floor = Floor(wo, wc, people, plan)
    first, qc_step, last = floor.steps()
    floor.report(first, 10, 0)
    floor.report(qc_step, 10, 0)
    floor.report(last, 10, 0)
    floor.inspect(Inspection.objects.get(task=qc_step), 3)
    nc = Nonconformance.objects.get()
    audit_before = AuditEntry.objects.count()
    for choice in ("scrap", "rework"):
        with pytest.raises(ValidationError) as refused:
            floor.decide(nc, choice)
        (error,) = refused.value.error_dict["disposition"]
        assert error.code == "units_went_on"
        assert (f"Step {last.seq} {last.name} does not wait for QC and has already taken 10 "
                f"of the 10 units step {qc_step.seq} reported good: only 0 are still at step "
                f"{qc_step.seq}, so the 3 units of {nc.number} cannot be scrapped or sent to "
                "rework here. Have it approved for use as is") in error.message
    qc_step.refresh_from_db()
    assert (qc_step.qty_good, qc_step.qty_scrap, qc_step.qty_rework) == (10, 0, 0)
    nc.refresh_from_db()
    assert (nc.status, nc.disposition) == ("open", "pending")
    assert not floor.rework_tasks() and AuditEntry.objects.count() == audit_before
    assert not conservation_problems(wo)
    floor.decide(nc, "use_as_is")
    closed_and_accepted(floor, people)


def test_units_still_at_the_checkpoint_can_be_scrapped(people, plans):
    """The next step took 8 of the checkpoint's 10: 2 are still there. A failure of 2 may be
    scrapped (the next step keeps 8 of 8); one of 3 may not."""
    plan = plans["every"]
    wo, tasks, wc = released_order(steps=3, qty="10")
    Task.objects.filter(pk=tasks[1].pk).update(is_qc_checkpoint=True,
                                                inspection_plan_code=plan.code)
    floor = Floor(wo, wc, people, plan)
    first, qc_step, last = floor.steps()
    floor.report(first, 10, 0)
    floor.report(qc_step, 5, 0)
    floor.report(qc_step, 5, 0)
    floor.report(last, 8, 0)
    three, two = Inspection.objects.filter(task=qc_step).order_by("pk")
    floor.inspect(three, 3)
    floor.inspect(two, 2)
    nc3, nc2 = Nonconformance.objects.order_by("pk")
    with pytest.raises(ValidationError, match="only 2 are still at step"):
        floor.decide(nc3, "scrap")
    floor.decide(nc2, "scrap")
    qc_step.refresh_from_db()
    assert (qc_step.qty_good, qc_step.qty_scrap) == (8, 2)
    assert not conservation_problems(wo)
    floor.decide(nc3, "use_as_is")
    closed_and_accepted(floor, people)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["report", "disposition"])
def test_a_report_racing_the_disposition_on_postgres(people, plans, first):
    """Step 30 (not waiting for QC) has taken 7 of the checkpoint's 10; 3 fail. A report of the
    last 3 on step 30 and the scrap of the 3 at the checkpoint come at once: whichever holds
    its rows first wins and the other, waiting for the rows, sees it and is refused."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are proven on PostgreSQL")
    plan = plans["every"]
    wo, tasks, wc = released_order(steps=3, qty="10")
    Task.objects.filter(pk=tasks[1].pk).update(is_qc_checkpoint=True,
                                                inspection_plan_code=plan.code)
    floor = Floor(wo, wc, people, plan)
    first_step, qc_step, last = floor.steps()
    floor.report(first_step, 10, 0)
    floor.report(qc_step, 10, 0)
    floor.report(last, 7, 0)
    floor.inspect(Inspection.objects.get(task=qc_step), 3)
    nc = Nonconformance.objects.get()
    in_flight, outcomes = threading.Event(), {}

    def run(name, call):
        try:
            with transaction.atomic():
                call()
                if name == first:  # hold the rows a while before committing
                    in_flight.set()
                    time.sleep(0.5)
            outcomes[name] = "done"
        except ValidationError as exc:
            outcomes[name] = exc
        finally:
            in_flight.set()
            connections.close_all()

    def second(name, call):
        in_flight.wait(5)
        run(name, call)

    calls = {"report": lambda: floor.report(last, 3, 0),
             "disposition": lambda: floor.decide(nc, "scrap")}
    then = "disposition" if first == "report" else "report"
    threads = [threading.Thread(target=run, args=(first, calls[first])),
               threading.Thread(target=second, args=(then, calls[then]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes[first] == "done"
    refused = outcomes[then]
    assert isinstance(refused, ValidationError), outcomes
    if then == "disposition":
        assert [e.code for e in refused.error_dict["disposition"]] == ["units_went_on"]
    else:
        assert refused.code == "too_many"
    assert not conservation_problems(wo)
