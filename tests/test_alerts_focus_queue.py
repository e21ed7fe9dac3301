"""Event-driven alert evaluation coalesced through Redis (alerts.services.focus_queue): one
Celery message per drain instead of one per report, and no event's subjects lost between a
request appending them and the worker taking them."""

import json
from unittest import mock

import pytest

from alerts.services import focus_queue
from alerts.services.focus_queue import QUEUE, SCHEDULED

pytestmark = pytest.mark.redis


@pytest.fixture
def redis(settings):
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL not set")
    from mes.redis import redis_client

    client = redis_client()
    client.delete(QUEUE, SCHEDULED)
    yield client
    client.delete(QUEUE, SCHEDULED)


@pytest.fixture
def sent():
    """The drain messages sent to Celery (not run)."""
    with mock.patch("alerts.tasks.alerts_evaluate_pending_task.apply_async") as apply_async:
        yield apply_async


def test_many_events_send_one_message_until_the_worker_drains(redis, sent):
    for pk in (1, 2, 3):
        focus_queue.focus_defer({"report_ids": [pk]})
    focus_queue.focus_defer({"equipment_ids": [7]})
    assert sent.call_count == 1
    assert [json.loads(x) for x in redis.lrange(QUEUE, 0, -1)] == [
        {"report_ids": [1]}, {"report_ids": [2]}, {"report_ids": [3]}, {"equipment_ids": [7]}]

    with mock.patch("alerts.services.sweep.alerts_evaluate_focus") as evaluate:
        assert focus_queue.focus_drain() == 4
    evaluate.assert_called_once_with(raw={"report_ids": [1, 2, 3], "equipment_ids": [7]})
    assert redis.llen(QUEUE) == 0 and not redis.exists(SCHEDULED)

    focus_queue.focus_defer({"task_ids": [5]})  # after the drain: a new message
    assert sent.call_count == 2


def test_an_event_during_the_evaluation_schedules_the_next_drain(redis, sent):
    focus_queue.focus_defer({"task_ids": [1]})
    assert sent.call_count == 1
    seen = []

    def evaluate(raw):
        seen.append(raw)
        if len(seen) == 1:  # a report commits while the worker evaluates the first batch
            focus_queue.focus_defer({"task_ids": [2]})

    with mock.patch("alerts.services.sweep.alerts_evaluate_focus", side_effect=evaluate):
        assert focus_queue.focus_drain() == 1
        # the late event found the flag clear and scheduled the next drain itself
        assert sent.call_count == 2
        assert focus_queue.focus_drain() == 1
    assert seen == [{"task_ids": [1]}, {"task_ids": [2]}]
    assert sent.call_count == 2 and redis.llen(QUEUE) == 0 and not redis.exists(SCHEDULED)


def test_a_backlog_is_drained_a_batch_per_task(redis, sent):
    """One batch per run, the next run scheduled as a task of its own: a steady stream of
    reports never keeps a worker (a solo pool, say) from its sweeps and notifications."""
    for pk in range(1, 8):
        focus_queue.focus_defer({"report_ids": [pk], "task_ids": [100 + pk % 2]})
    assert sent.call_count == 1
    with mock.patch("alerts.services.sweep.alerts_evaluate_focus") as evaluate:
        assert focus_queue.focus_drain(batch=3) == 3
        assert sent.call_count == 2  # more waiting: the next drain is on its way
        assert focus_queue.focus_drain(batch=3) == 3
        assert focus_queue.focus_drain(batch=3) == 1
        assert sent.call_count == 3  # the last one found nothing more
        assert focus_queue.focus_drain(batch=3) == 0
    assert [c.kwargs["raw"] for c in evaluate.call_args_list] == [
        {"report_ids": [1, 2, 3], "task_ids": [100, 101]},
        {"report_ids": [4, 5, 6], "task_ids": [100, 101]},
        {"report_ids": [7], "task_ids": [101]}]
    assert sent.call_count == 3 and not redis.exists(SCHEDULED)


def test_a_broker_failure_leaves_the_next_event_free_to_schedule(redis, sent):
    sent.side_effect = OSError("broker down")
    focus_queue.focus_defer({"task_ids": [1]})  # logged, not raised
    assert not redis.exists(SCHEDULED)
    sent.side_effect = None
    focus_queue.focus_defer({"task_ids": [2]})
    assert sent.call_count == 2 and redis.llen(QUEUE) == 2  # the next drain takes both


def test_redis_down_costs_the_request_nothing_but_a_warning(settings, sent, caplog):
    from mes.redis import redis_client

    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    redis_client.cache_clear()
    try:
        focus_queue.focus_defer({"task_ids": [1]})
    finally:
        redis_client.cache_clear()
    assert sent.call_count == 0
    assert "Could not queue an alert evaluation" in caplog.text


def test_malformed_entries_are_dropped_not_fatal(redis, sent):
    redis.rpush(QUEUE, b"{not json", json.dumps({"task_ids": [3]}))
    with mock.patch("alerts.services.sweep.alerts_evaluate_focus") as evaluate:
        assert focus_queue.focus_drain() == 1
    evaluate.assert_called_once_with(raw={"task_ids": [3]})


@pytest.mark.django_db(transaction=True)
def test_a_committed_report_is_evaluated_through_the_queue(redis):
    """End to end with Celery eager (as the suite runs it): one commit's events queue their
    subjects together (one Redis round trip, mes.redis), so the one drain message it sends
    (run at once: eager) evaluates all of them; the next commit's events, the next drain."""
    from alerts.services.handlers import on_equipment_state_changed

    with mock.patch("alerts.services.sweep.alerts_evaluate_focus") as evaluate:
        from django.db import transaction

        with transaction.atomic():
            on_equipment_state_changed(equipment_id=42)
            on_equipment_state_changed(equipment_id=43)
            assert evaluate.call_count == 0  # nothing before the commit
        assert evaluate.call_args_list == [mock.call(raw={"equipment_ids": [42, 43]})]
        with transaction.atomic():
            on_equipment_state_changed(equipment_id=44)
    assert evaluate.call_args_list == [mock.call(raw={"equipment_ids": [42, 43]}),
                                       mock.call(raw={"equipment_ids": [44]})]
    assert redis.llen(QUEUE) == 0 and not redis.exists(SCHEDULED)


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_savepoint_sends_nothing_and_one_round_trip_carries_the_rest(redis):
    """What a commit's hooks queue for Redis goes in one pipeline after the last hook; what
    was queued inside a savepoint that rolled back is not sent at all."""
    from django.db import transaction

    from mes.events import event_emit

    sent = []
    original = __import__("redis").client.Pipeline.execute

    def execute(pipe, *args, **kwargs):
        sent.append([c[0][0] for c in pipe.command_stack])
        return original(pipe, *args, **kwargs)

    def work():
        event_emit(topic="plant", kind="test.one")
        focus_queue.focus_enqueue_on_commit({"task_ids": [1]})
        try:
            with transaction.atomic():
                focus_queue.focus_enqueue_on_commit({"task_ids": [2]})
                raise RuntimeError("undo the savepoint")
        except RuntimeError:
            pass
        focus_queue.focus_enqueue_on_commit({"task_ids": [3]})
        assert sent == []  # nothing before the commit

    with mock.patch("redis.client.Pipeline.execute", execute), \
            mock.patch("alerts.services.sweep.alerts_evaluate_focus") as evaluate:
        transaction.atomic(work)()
    assert sent[0] == ["PUBLISH", "EVAL", "EVAL"]
    evaluate.assert_called_once_with(raw={"task_ids": [1, 3]})


def test_without_redis_each_event_is_its_own_message(settings):
    settings.REDIS_URL = ""
    with mock.patch("alerts.services.common.enqueue_on_commit") as enqueue:
        focus_queue.focus_enqueue_on_commit({"task_ids": [1]})
    (call,) = enqueue.call_args_list
    assert call.args[1] == {"task_ids": [1]}


def test_the_queue_keeps_the_newest_subjects_up_to_its_bound(redis, sent, monkeypatch):
    monkeypatch.setattr(focus_queue, "QUEUE_MAX", 3)
    for pk in range(1, 6):
        focus_queue.focus_defer({"task_ids": [pk]})
    assert [json.loads(x) for x in redis.lrange(QUEUE, 0, -1)] == [
        {"task_ids": [3]}, {"task_ids": [4]}, {"task_ids": [5]}]
    assert sent.call_count == 1 and 0 < redis.ttl(SCHEDULED) <= focus_queue.SCHEDULED_SECONDS
