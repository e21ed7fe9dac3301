"""The embedded broker (mes.broker): a worker never takes a message file before it is whole."""

import json
import os
import threading
from queue import Empty

import pytest
from kombu import Connection

from mes import broker

pytestmark = pytest.mark.embedded


@pytest.fixture
def channel(tmp_path):
    folders = {name: tmp_path / name for name in ("queue", "processed", "control")}
    for folder in folders.values():
        folder.mkdir()
    conn = Connection("filesystem://", transport="mes.broker:Transport", transport_options={
        "data_folder_in": str(folders["queue"]), "data_folder_out": str(folders["queue"]),
        "processed_folder": str(folders["processed"]), "control_folder": str(folders["control"]),
        "store_processed": False})
    yield conn.default_channel
    conn.release()


def test_the_embedded_settings_use_this_transport(settings):
    if settings.CELERY_BROKER_URL != "filesystem://":
        pytest.skip("runs with Redis as the broker")
    from mes.celery import app

    with app.connection_for_write() as conn:
        assert isinstance(conn.default_channel, broker.Channel)


def test_a_message_appears_under_its_queue_name_only_when_whole(channel, monkeypatch):
    folder = channel.data_folder_out
    seen = []
    real_replace = os.replace

    def replace(src, dst):
        # What a worker listing the folder now would find: no message of the queue yet, and
        # the hidden file already holding the whole message.
        seen.append(([n for n in os.listdir(folder) if n.endswith(".celery.msg")],
                     json.loads(open(src).read())))  # noqa: PTH123, SIM115
        real_replace(src, dst)

    monkeypatch.setattr(broker.os, "replace", replace)
    channel._put("celery", {"body": "x" * 100_000, "n": 1})
    assert seen == [([], {"body": "x" * 100_000, "n": 1})]
    assert channel._get("celery") == {"body": "x" * 100_000, "n": 1}
    assert os.listdir(folder) == []


def test_a_worker_reading_while_messages_are_written_gets_each_whole_once(channel):
    count, got, failures = 100, [], []

    def write():
        for n in range(count):
            channel._put("celery", {"n": n, "body": "报工" * 300_000})

    def read():
        while len(got) < count and not failures:
            try:
                got.append(channel._get("celery")["n"])
            except Empty:
                continue
            except Exception as exc:  # what kombu's own transport raised: JSONDecodeError
                failures.append(exc)

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []
    assert sorted(got) == list(range(count))
