"""mes.redis's sender: what commits queue for Redis goes out moments later from one thread per
process, the stream wake-ups and alert subjects of the commits that waited together merged, in
one round trip."""

import json
from unittest import mock

import pytest
from django.db import transaction

from alerts.services import focus_queue
from alerts.services.focus_queue import QUEUE, SCHEDULED
from mes.redis import RedisWork, redis_send_soon, redis_sent

pytestmark = pytest.mark.redis


@pytest.fixture
def redis(settings):
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL not set")
    settings.MES_REDIS_SEND_DELAY = 0.3  # long enough for the test's commits to wait together
    from mes.redis import redis_client

    client = redis_client()
    client.delete(QUEUE, SCHEDULED)
    yield client
    assert redis_sent()
    client.delete(QUEUE, SCHEDULED)


@pytest.fixture
def pipelines():
    """The commands of each pipeline sent to Redis, in order."""
    sent = []
    original = __import__("redis").client.Pipeline.execute

    def execute(pipe, *args, **kwargs):
        sent.append([c[0][0] for c in pipe.command_stack])
        return original(pipe, *args, **kwargs)

    with mock.patch("redis.client.Pipeline.execute", execute):
        yield sent


@pytest.mark.django_db(transaction=True)
def test_commits_that_wait_together_go_in_one_round_trip(redis, pipelines):
    from mes.events import event_emit

    with mock.patch("alerts.tasks.alerts_evaluate_pending_task.apply_async") as drain:
        for pk in (1, 2, 3):
            with transaction.atomic():
                event_emit(topic="plant", kind="test.one")
                focus_queue.focus_enqueue_on_commit({"task_ids": [pk], "report_ids": [10 + pk]})
        assert pipelines == []  # the commits did not wait on Redis
        assert redis_sent()
    # one wake-up for the three commits' events, one entry with the union of their subjects
    assert pipelines == [["PUBLISH", "EVAL"]]
    assert [json.loads(x) for x in redis.lrange(QUEUE, 0, -1)] == [
        {"report_ids": [11, 12, 13], "task_ids": [1, 2, 3]}]
    assert drain.call_count == 1

    with mock.patch("alerts.services.sweep.alerts_evaluate_focus") as evaluate:
        assert focus_queue.focus_drain() == 1
    evaluate.assert_called_once_with(raw={"report_ids": [11, 12, 13], "task_ids": [1, 2, 3]})


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_hands_the_sender_nothing(redis, pipelines):
    with pytest.raises(RuntimeError), transaction.atomic():
        focus_queue.focus_enqueue_on_commit({"task_ids": [1]})
        raise RuntimeError("undo")
    assert redis_sent()
    assert pipelines == [] and redis.llen(QUEUE) == 0


def _echo(n, seen, *, fail=False):
    def commands(pipe):
        if fail:
            raise RuntimeError("a command that cannot be built")
        pipe.echo(str(n))

    return RedisWork(commands, what=f"echo {n}", then=lambda _client, replies: seen.extend(replies))


def test_works_that_do_not_merge_go_in_the_order_handed_over(redis, pipelines):
    seen = []
    redis_send_soon([_echo(1, seen), _echo(2, seen)])
    redis_send_soon([_echo(3, seen)])
    assert redis_sent()
    assert pipelines == [["ECHO", "ECHO", "ECHO"]]
    assert seen == [b"1", b"2", b"3"]


def test_a_failed_batch_is_logged_and_the_sender_goes_on(redis, pipelines, caplog):
    seen = []
    redis_send_soon([_echo(1, seen, fail=True)])
    assert redis_sent()
    assert "Could not echo 1 on Redis" in caplog.text
    redis_send_soon([_echo(2, seen)])
    assert redis_sent()
    assert seen == [b"2"]


def test_with_no_delay_the_committing_thread_sends(redis, settings, pipelines):
    settings.MES_REDIS_SEND_DELAY = 0
    seen = []
    redis_send_soon([_echo(1, seen)])
    assert seen == [b"1"] and pipelines == [["ECHO"]]  # already sent, no waiting
