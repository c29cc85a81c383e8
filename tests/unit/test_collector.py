"""The collector freezes survivors every tick and unfreezes for one full collection once enough pages have gone."""

from __future__ import annotations

import gc

from app.collector import Collector


class FakeGc:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.frozen = 0

    def collect(self, generation: int = 2) -> int:
        self.calls.append("collect")
        return 0

    def freeze(self) -> None:
        self.calls.append("freeze")
        self.frozen += 1

    def unfreeze(self) -> None:
        self.calls.append("unfreeze")

    def get_freeze_count(self) -> int:
        return self.frozen


def test_every_tick_collects_the_young_then_freezes_without_unfreezing() -> None:
    fake = FakeGc()
    clients = {"a", "b"}
    collector = Collector(lambda: clients, collector=fake, unfreeze_after=3)
    for _ in range(3):
        assert collector.tick().full is False
    assert fake.calls == ["collect", "freeze"] * 3


def test_closed_frozen_pages_trigger_one_full_collection_at_the_threshold() -> None:
    fake = FakeGc()
    clients = {f"c{n}" for n in range(10)}
    collector = Collector(lambda: clients, collector=fake, unfreeze_after=3, share=0.0)
    collector.tick()
    clients -= {"c0", "c1"}
    assert collector.tick().full is False
    assert collector.gone == 2
    clients -= {"c2"}
    fake.calls.clear()
    done = collector.tick()
    assert done.full is True
    assert fake.calls == ["unfreeze", "collect", "freeze"]
    assert collector.gone == 0 and collector.full_collections == 1
    assert collector.tick().full is False  # counted once


def test_pages_that_closed_before_being_frozen_are_not_counted() -> None:
    fake = FakeGc()
    clients = {"a"}
    collector = Collector(lambda: clients, collector=fake, unfreeze_after=1, share=0.0)
    collector.tick()
    clients = {"a"}
    clients.add("b")
    clients.discard("b")  # came and went between two ticks: its cycles are young, collected by the tick itself
    assert collector.tick().full is False


def test_the_threshold_grows_with_the_open_pages() -> None:
    fake = FakeGc()
    clients = {f"c{n}" for n in range(400)}
    collector = Collector(lambda: clients, collector=fake, unfreeze_after=10, share=0.25)
    collector.tick()
    clients -= {f"c{n}" for n in range(50)}
    assert collector.tick().full is False  # 50 gone < a quarter of the 350 open
    clients -= {f"c{n}" for n in range(50, 90)}
    assert collector.tick().full is True  # 90 gone >= a quarter of the 310 open


def test_the_real_collector_leaves_objects_frozen_and_collects_young_cycles() -> None:
    class Cycle:
        def __init__(self) -> None:
            self.me = self

    try:
        collector = Collector(lambda: ())
        Cycle()
        done = collector.tick()
        assert done.collected >= 1
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_a_full_collection_runs_at_least_every_so_often_for_cycles_that_are_not_pages() -> None:
    fake = FakeGc()
    now = [0.0]
    collector = Collector(lambda: (), collector=fake, full_every=3600, clock=lambda: now[0])
    assert collector.tick().full is False
    now[0] = 3599
    assert collector.tick().full is False
    now[0] = 3600
    assert collector.tick().full is True
    now[0] = 3700
    assert collector.tick().full is False
