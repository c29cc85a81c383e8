"""The demo's simulation: reproducible under a seed, accepted by the event bus, and in step with the platform's mesh
node timeout."""

from __future__ import annotations

import math
import random
from collections import Counter

from services.demo import (
    ACCOUNTS,
    FIRST_HUMANS,
    HUMANS,
    POOL_TOTAL,
    WEEKLY_FLOW,
    Action,
    DemoWorld,
    MeshNetwork,
    Publish,
    Record,
    ResourceSystem,
    TruthNetwork,
)
from services.events import EventSystem, emitted_by_platform
from services.metrics.defaults import DEFAULT_METRICS, TRUTH_CHANNEL_REACH
from services.metrics.feeds import DomainFeeds
from services.metrics.service import MetricsService
from tests.clocks import SecondsClock


def run(world: DemoWorld, clock: SecondsClock, seconds: float) -> list[tuple[float, Action]]:
    """Every action the world takes in `seconds` of simulated time, with when it took it."""
    end = clock.now + seconds
    taken: list[tuple[float, Action]] = []
    while world.next_due() <= end:
        clock.now = max(clock.now, world.next_due())
        taken += [(clock.now, action) for action in world.step()]
    return taken


def published(taken: list[tuple[float, Action]], event_type: str) -> list[Publish]:
    return [a for _, a in taken if isinstance(a, Publish) and a.event_type == event_type]


def test_a_seeded_world_is_reproducible() -> None:
    first, second = SecondsClock(), SecondsClock()
    a = run(DemoWorld(random.Random(7), first, rate=3), first, 600)
    b = run(DemoWorld(random.Random(7), second, rate=3), second, 600)
    assert a == b
    third = SecondsClock()
    assert run(DemoWorld(random.Random(8), third, rate=3), third, 600) != a


def test_the_opening_fills_every_panel_and_money_flows_within_seconds() -> None:
    clock = SecondsClock()
    taken = run(DemoWorld(random.Random(1), clock), clock, 3)
    registered = published(taken, "human.registered")
    assert [p.data["human_id"] for p in registered] == [h.human_id for h in HUMANS[:FIRST_HUMANS]]
    assert published(taken, "mesh.node.connected") and published(taken, "truth.message.sent")
    assert {a.name for _, a in taken if isinstance(a, Record)} == {"mesh_latency_avg", "mesh_throughput"}
    assert len(published(taken, "resource.distributed")) == FIRST_HUMANS  # the first run, 2 s in


def test_a_weekly_run_pays_every_registered_human_800_under_one_correlation_id() -> None:
    resources = ResourceSystem(random.Random(2))
    resources.register(5)
    first, second = resources.distribute(), resources.distribute()
    for run_actions in (first, second):
        paid = [a for a in run_actions if isinstance(a, Publish) and a.event_type == "resource.distributed"]
        assert [p.data["human_id"] for p in paid] == [h.human_id for h in HUMANS[:5]]
        assert {p.data["amount"] for p in paid} == {WEEKLY_FLOW}
        assert {p.data["distribution_type"] for p in paid} == {"weekly"}
        assert len({p.data["transaction_id"] for p in paid}) == 5
        assert len({a.correlation_id for a in run_actions if isinstance(a, Publish)}) == 1
    assert first[0].correlation_id != second[0].correlation_id
    pool = second[-1]
    assert isinstance(pool, Publish) and pool.event_type == "resource.pool.updated"
    assert pool.data["available"] == POOL_TOTAL - 2 * 5 * WEEKLY_FLOW and pool.data["active_humans"] == 5


def test_humans_registered_at_an_earlier_start_are_paid_but_not_registered_again() -> None:
    earlier = [h.human_id for h in HUMANS[:ACCOUNTS]]
    resources = ResourceSystem(random.Random(3), registered=earlier)
    joined = [a.data["human_id"] for a in resources.register(4) if isinstance(a, Publish)]
    assert not set(joined) & set(earlier)
    paid = {a.data["human_id"] for a in resources.distribute() if isinstance(a, Publish) and "human_id" in a.data}
    assert paid == {*earlier, *joined}


def test_truth_messages_carry_the_reach_of_their_channel() -> None:
    truth = TruthNetwork(random.Random(4))
    sent = [a for _ in range(200) for a in truth.send() if isinstance(a, Publish)]
    messages = [p for p in sent if p.event_type == "truth.message.sent"]
    assert {p.data["channel"] for p in messages} == set(TRUTH_CHANNEL_REACH)
    assert all(p.data["reach"] == TRUTH_CHANNEL_REACH[p.data["channel"]] for p in messages)
    conversions = [p for p in sent if p.event_type == "truth.channel.converted"]
    assert 0.15 < len(conversions) / len(messages) < 0.45


async def test_everything_the_demo_sends_is_accepted() -> None:
    """Through the real bus (type, data schema, envelope) and into the defined metrics; nothing of the platform's
    own families, which the publish API refuses."""
    clock = SecondsClock()
    taken = run(DemoWorld(random.Random(5), clock, rate=5), clock, 3600)
    events = EventSystem()
    types = Counter[str]()
    for _, action in taken:
        if isinstance(action, Publish):
            assert not emitted_by_platform(action.event_type)
            await events.publish(action.event_type, action.data, action.source, action.correlation_id)
            types[action.event_type] += 1
        else:
            assert action.name in {spec.name for spec in DEFAULT_METRICS}
            assert math.isfinite(action.value) and action.value > 0
    assert set(types) == {"human.registered", "resource.distributed", "resource.pool.updated", "truth.message.sent",
                          "truth.channel.converted", "mesh.node.connected", "mesh.node.disconnected",
                          "mesh.network.updated"}


def test_the_default_pace_is_gentle_and_demo_rate_multiplies_it() -> None:
    gentle_clock, busy_clock = SecondsClock(), SecondsClock()
    gentle = run(DemoWorld(random.Random(6), gentle_clock), gentle_clock, 3600)
    busy = run(DemoWorld(random.Random(6), busy_clock, rate=10), busy_clock, 3600)
    assert len(gentle) / 3600 < 3  # requests per second, everything included
    distributions = {a.correlation_id for a in published(gentle, "resource.pool.updated")}
    assert 100 <= len(distributions) <= 140  # one run every ~30 s
    ratio = len(published(busy, "truth.message.sent")) / len(published(gentle, "truth.message.sent"))
    assert 8 < ratio < 12


async def test_the_platform_counts_exactly_the_mesh_nodes_that_still_report() -> None:
    """Silent nodes drop out once MESH_NODE_TIMEOUT has passed, disconnected ones at once, reporting ones never."""
    clock = SecondsClock()
    world = DemoWorld(random.Random(9), clock, rate=2, mesh_timeout=30)
    metrics = MetricsService(clock=clock)
    feeds = DomainFeeds(metrics, mesh_timeout=30, clock=clock)
    events = EventSystem()
    feeds.register(events)
    went_silent: set[str] = set()
    disconnected = 0
    end = clock.now + 3600
    while world.next_due() <= end:
        clock.now = world.next_due()
        for action in world.step():
            if isinstance(action, Publish):
                await events.publish(action.event_type, action.data, action.source)
                disconnected += action.event_type == "mesh.node.disconnected"
        went_silent |= set(world.mesh.silent)
        feeds.expire_mesh_nodes()  # what the metrics push job does every few seconds
        assert metrics.metrics["mesh_nodes_active"].get_latest_value() == len(world.mesh.nodes) + len(world.mesh.silent)
    assert len(went_silent) >= 3 and disconnected >= 3
    assert world.mesh.size[0] <= len(world.mesh.nodes) <= world.mesh.size[1]


def test_silent_and_disconnected_nodes_are_no_longer_announced() -> None:
    clock = SecondsClock()
    # Six nodes in a network that shrinks to four: the first round silences one and disconnects another.
    mesh = MeshNetwork(random.Random(10), clock, timeout=30, size=(4, 4), churn=1.0, change_chance=0.0)
    for _ in range(6):
        mesh.connect()
    first = mesh.tick()
    [quiet] = mesh.silent
    [gone] = [a.data["node_id"] for a in first if isinstance(a, Publish) and a.event_type == "mesh.node.disconnected"]
    announced: set[str] = set()
    for _ in range(20):
        clock.now += 5
        announced |= {a.data["node_id"] for a in mesh.tick() if isinstance(a, Publish)}
    assert len(mesh.nodes) == 4 and set(mesh.nodes) <= announced  # heartbeats, every timeout / 3
    assert quiet not in announced and gone not in announced
    assert mesh.silent == {}  # the platform has timed the silent one out by now
