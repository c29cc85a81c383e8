"""Demo traffic: what the three external systems of the Liberation System would report, as plain data.

The resource system registers humans and pays each of them $800 a week, the truth network sends messages over its
four channels, and mesh nodes connect, report, re-announce themselves, change the topology, go silent or disconnect.
Each system turns the passing of time into actions: `Publish` (an event) and `Record` (a metric value), which
app/demo.py sends through the REST API. Random choices come from an injected `random.Random` and time from an
injected clock, so a seeded run is reproducible.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from services.events import EventType
from services.metrics.defaults import TRUTH_CHANNEL_REACH

Clock = Callable[[], float]

WEEKLY_FLOW = 800
POOL_TOTAL = 19_000_000_000_000
RESOURCES, TRUTH, MESH = "resource-system", "truth-network", "mesh-network"
"""Event sources: one per external system."""


@dataclass(frozen=True, slots=True)
class Publish:
    """An event to publish (POST /api/v1/realtime/events/publish)."""

    event_type: str
    data: dict[str, Any]
    source: str
    correlation_id: str | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """A metric value to record (POST /api/v1/metrics/{name}/record)."""

    name: str
    value: float
    tags: dict[str, str] = field(default_factory=dict)


Action = Publish | Record


@dataclass(frozen=True, slots=True)
class Human:
    human_id: str
    name: str


HUMANS: tuple[Human, ...] = tuple(Human(f"demo-{name.split()[0].lower()}", name) for name in (
    "Ada Okafor", "Grace Liu", "Alan Mensah", "Amara Silva", "Kenji Watanabe", "Leila Haddad", "Mateo Rossi",
    "Nia Johnson", "Olga Petrova", "Priya Raman", "Quentin Dubois", "Rosa Martinez", "Sami Nieminen", "Tariq Aziz",
    "Uma Kapoor", "Viktor Novak", "Wen Zhang", "Ximena Torres", "Yusuf Demir", "Zara Ahmed", "Bram de Vries",
    "Chloe Martin", "Dmitri Orlov", "Esi Boateng"))
"""Everyone the resource system will register, in order. The first `ACCOUNTS` also get a user account, so their
inboxes show what reaches a human. The `demo-` prefix keeps the traffic off real people's accounts."""
ACCOUNTS = 3
FIRST_HUMANS = 12
"""Humans registered at the start; the rest join one by one."""

MESSAGES = (
    "Every human now receives $800 a week, no conditions attached",
    "Housing credits of $104,000 are available to every registered human",
    "Communities decide democratically how their investment pool is spent",
    "The $19T pool is public: anyone can audit every distribution",
    "Mesh nodes keep the network up when central links fail",
    "Register once, receive weekly: no forms, no caseworkers",
    "Half of each community pool goes to housing, a fifth to local projects",
    "Truth spreads faster when people share it: pass this on",
)
CHANGES = ("route_optimized", "link_added", "link_removed", "partition_healed", "relay_promoted")
CAPABILITIES = ("relay", "storage", "compute", "gateway", "bridge")


@dataclass(frozen=True, slots=True)
class Cadence:
    """Seconds between one system's reports at DEMO_RATE=1 (a few events per second in all, at most)."""

    distribution: float = 30.0
    truth: float = 5.0
    mesh: float = 5.0
    registration: float = 20.0

    def periods(self, rate: float) -> dict[str, float]:
        return {"distribution": self.distribution / rate, "truth": self.truth / rate, "mesh": self.mesh / rate,
                "registration": self.registration / rate}


def new_id(rng: random.Random) -> str:
    """A UUID4 string drawn from `rng` (reproducible under a seed)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class ResourceSystem:
    """Registers humans and runs the weekly distributions from the $19T pool."""

    def __init__(self, rng: random.Random, *, humans: Iterable[Human] = HUMANS,
                 registered: Iterable[str] = ()) -> None:
        self._rng = rng
        already = set(registered)
        everyone = list(humans)
        self.registered: list[Human] = [h for h in everyone if h.human_id in already]
        self._waiting = [h for h in everyone if h.human_id not in already]
        self.available = float(POOL_TOTAL)
        self.runs = 0

    def register(self, count: int = 1) -> list[Action]:
        """The next `count` humans sign up (nothing once everyone has)."""
        joining, self._waiting = self._waiting[:count], self._waiting[count:]
        self.registered += joining
        return [Publish(EventType.HUMAN_REGISTERED, {"human_id": h.human_id, "name": h.name}, RESOURCES)
                for h in joining]

    def distribute(self) -> list[Action]:
        """One weekly run: $800 to every registered human under one correlation id, then the pool's new state."""
        if not self.registered:
            return []
        self.runs += 1
        run = new_id(self._rng)
        actions: list[Action] = [Publish(EventType.RESOURCE_DISTRIBUTED, {
            "human_id": h.human_id, "amount": WEEKLY_FLOW, "transaction_id": f"tx-{self._rng.getrandbits(48):012x}",
            "distribution_type": "weekly"}, RESOURCES, run) for h in self.registered]
        paid = WEEKLY_FLOW * len(self.registered)
        self.available = max(0.0, self.available - paid)
        actions.append(Publish(EventType.RESOURCE_POOL_UPDATED, {
            "total": float(POOL_TOTAL), "available": self.available, "distributed": float(paid),
            "active_humans": len(self.registered), "week": self.runs}, RESOURCES, run))
        return actions


class TruthNetwork:
    """Sends truth messages over billboard, social, media and direct channels; some convert their audience."""

    def __init__(self, rng: random.Random, *, conversion_chance: float = 0.3) -> None:
        self._rng = rng
        self._conversion_chance = conversion_chance

    def send(self) -> list[Action]:
        channel = self._rng.choice(tuple(TRUTH_CHANNEL_REACH))
        reach = TRUTH_CHANNEL_REACH[channel]
        actions: list[Action] = [Publish(EventType.TRUTH_MESSAGE_SENT, {
            "message": self._rng.choice(MESSAGES), "channel": channel, "reach": reach}, TRUTH)]
        if self._rng.random() < self._conversion_chance:
            converted = max(1, round(reach * self._rng.uniform(0.001, 0.01)))
            actions.append(Publish(EventType.TRUTH_CHANNEL_CONVERTED, {"channel": channel, "converted": converted},
                                   TRUTH))
        return actions


@dataclass(slots=True)
class MeshNode:
    node_id: str
    address: str
    port: int
    capabilities: list[str]
    trust_level: float
    latency_ms: float
    throughput: float
    """Bytes per second."""
    heard: float
    """When the platform last heard of it by name (a `mesh.node.connected` or a `mesh.network.updated`)."""

    def announcement(self, *, heartbeat: bool) -> Publish:
        return Publish(EventType.MESH_NODE_CONNECTED, {
            "node_id": self.node_id, "address": self.address, "port": self.port, "status": "online",
            "capabilities": self.capabilities, "trust_level": self.trust_level, "heartbeat": heartbeat}, MESH)


class MeshNetwork:
    """Nodes that join, report latency and throughput, re-announce themselves well inside the platform's node
    timeout, change the topology, and leave: some disconnect cleanly, others go silent and are left for the
    platform to time out."""

    def __init__(self, rng: random.Random, clock: Clock, *, timeout: float = 90.0, size: tuple[int, int] = (4, 8),
                 churn: float = 0.03, change_chance: float = 0.1) -> None:
        self._rng = rng
        self._clock = clock
        self.timeout = timeout
        self.heartbeat = timeout / 3
        self.size = size
        self._churn = churn
        self._change_chance = change_chance
        self.nodes: dict[str, MeshNode] = {}
        """Nodes that report (and so count as active on the platform)."""
        self._silent: dict[str, float] = {}

    @property
    def silent(self) -> dict[str, float]:
        """Nodes that stopped reporting, with when the platform last heard of them, until it has timed them out."""
        now = self._clock()
        self._silent = {node: heard for node, heard in self._silent.items() if now - heard <= self.timeout}
        return dict(self._silent)

    def connect(self) -> Publish:
        rng = self._rng
        node = MeshNode(f"node-{rng.getrandbits(24):06x}", f"10.{rng.randrange(8, 16)}.{rng.randrange(256)}."
                        f"{rng.randrange(1, 255)}", rng.randrange(7000, 7100), sorted(rng.sample(CAPABILITIES, 2)),
                        round(rng.uniform(0.5, 1.0), 2), rng.uniform(10, 120), rng.uniform(50_000, 1_500_000),
                        self._clock())
        self.nodes[node.node_id] = node
        return node.announcement(heartbeat=False)

    def tick(self) -> list[Action]:
        """One reporting round: churn, new nodes, heartbeats, maybe a topology change, then the network figures."""
        now = self._clock()
        actions: list[Action] = self._churn_round()
        low, high = self.size
        while len(self.nodes) < low or (len(self.nodes) < high and self._rng.random() < 0.15):
            actions.append(self.connect())
        for node in self.nodes.values():
            if now - node.heard >= self.heartbeat:
                node.heard = now
                actions.append(node.announcement(heartbeat=True))
        if self.nodes and self._rng.random() < self._change_chance:
            node = self.nodes[self._rng.choice(tuple(self.nodes))]
            node.heard = now
            actions.append(Publish(EventType.MESH_NETWORK_UPDATED, {
                "change_type": self._rng.choice(CHANGES), "node_id": node.node_id, "node_count": len(self.nodes)},
                MESH))
        return actions + self.report()

    def report(self) -> list[Action]:
        """Mean latency and total throughput of the reporting nodes, after a step of drift."""
        if not self.nodes:
            return []
        for node in self.nodes.values():
            node.latency_ms = min(250.0, max(5.0, node.latency_ms * self._rng.uniform(0.85, 1.15)))
            node.throughput = min(2_000_000.0, max(20_000.0, node.throughput * self._rng.uniform(0.8, 1.2)))
        latency = sum(n.latency_ms for n in self.nodes.values()) / len(self.nodes)
        throughput = sum(n.throughput for n in self.nodes.values())
        nodes = str(len(self.nodes))
        return [Record("mesh_latency_avg", round(latency, 1), {"nodes": nodes}),
                Record("mesh_throughput", round(throughput), {"nodes": nodes})]

    def _churn_round(self) -> list[Action]:
        """Maybe one node goes silent and maybe one disconnects, never below the smallest network size."""
        actions: list[Action] = []
        if len(self.nodes) > self.size[0] and self._rng.random() < self._churn:
            silent = self.nodes.pop(self._rng.choice(tuple(self.nodes)))
            self._silent[silent.node_id] = silent.heard
        if len(self.nodes) > self.size[0] and self._rng.random() < self._churn:
            node = self.nodes.pop(self._rng.choice(tuple(self.nodes)))
            actions.append(Publish(EventType.MESH_NODE_DISCONNECTED, {
                "node_id": node.node_id, "address": node.address, "reason": self._rng.choice(
                    ("maintenance", "power_saving", "operator_shutdown"))}, MESH))
        return actions


class DemoWorld:
    """The three systems on one timetable: `step()` answers what is due now, `next_due()` when to call again."""

    def __init__(self, rng: random.Random, clock: Clock, *, rate: float = 1.0, mesh_timeout: float = 90.0,
                 registered: Iterable[str] = (), cadence: Cadence | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self._rng = rng
        self._clock = clock
        self.resources = ResourceSystem(rng, registered=registered)
        self.truth = TruthNetwork(rng)
        self.mesh = MeshNetwork(rng, clock, timeout=mesh_timeout)
        self._periods = (cadence or Cadence()).periods(rate)
        # Reporting rounds carry the heartbeats: often enough that no reporting node is ever timed out.
        self._periods["mesh"] = min(self._periods["mesh"], mesh_timeout / 4)
        now = clock()
        # The opening fills every panel at once; the first distribution follows within seconds, not half a minute.
        self._due = {"opening": now, "distribution": now + 2 / rate, "truth": now + self._periods["truth"],
                     "mesh": now + self._periods["mesh"], "registration": now + self._periods["registration"]}

    def next_due(self) -> float:
        return min(self._due.values())

    def step(self) -> list[Action]:
        """Everything due by now, in a fixed order; each stream is then rescheduled from now (no catch-up bursts)."""
        now = self._clock()
        actions: list[Action] = []
        for stream in [s for s, due in self._due.items() if due <= now]:
            actions += self._run(stream)
            if stream == "opening":
                del self._due[stream]
            else:
                self._due[stream] = now + self._periods[stream] * self._rng.uniform(0.8, 1.2)
        return actions

    def _run(self, stream: str) -> list[Action]:
        if stream == "opening":
            first = max(0, FIRST_HUMANS - len(self.resources.registered))
            return [*self.resources.register(first), *(self.mesh.connect() for _ in range(self.mesh.size[0] + 1)),
                    *self.truth.send(), *self.mesh.report()]
        if stream == "distribution":
            return self.resources.distribute()
        if stream == "truth":
            return self.truth.send()
        if stream == "mesh":
            return self.mesh.tick()
        return self.resources.register(1)
