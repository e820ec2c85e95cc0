"""What can go wrong at the boundary of the pipeline, and the deterministic scheduler of concurrent runs.

Every call the pipeline makes across its boundary — a request to e-Boekhouden or PrestaShop, a call into the state
store — is a *crossing* (:meth:`Boundary.cross`). A crossing is named by its target (``eb.POST v1/mutation``,
``ps.orders``, ``orders.record_intent``) and counted per event; a fault is decided per crossing, either drawn from
the event's rates with the event's own random generator (a schedule from a seed) or read from an explicit plan
(target, occurrence → kind: a shrunk schedule, replayed exactly). Both give the same crossings in the same order
for the same schedule, so a schedule's outcome is a function of the schedule alone.

Fault kinds and what they do (``EFFECTS``):

- ``transient``: a read that failed after the hook's own retries (429, 5xx, time-out, a page cut short): the hook
  raises TransientError; nothing happened on the other side;
- ``not_sent``: a write refused before it reached the API (429 until the retries gave up): TransientError;
- ``ambiguous_uncommitted``: a write whose answer never came and that the API did *not* process (5xx or time-out
  before it committed): AmbiguousWrite;
- ``ambiguous_committed``: a write the API processed whose answer was lost (connection dropped, 5xx or time-out
  after the commit): AmbiguousWrite, and the booking exists;
- ``kill``: the process running the task is killed (SIGKILL) right after this crossing returned (for a write: after
  the API committed it, before the answer was read; for the store: after the transaction committed): :class:`Killed`.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prestashop_eboekhouden.hooks.base import AmbiguousWrite, TransientError


class Killed(BaseException):  # noqa: N818 - it is what happened to the process, not an error of ours
    """The process running this task was killed (SIGKILL): nothing after this point ran. A BaseException, so no
    ``except Exception`` in the code under test can swallow it."""


# kind → (class of crossing it applies to, effect)
FAULTS: dict[str, tuple[str, str]] = {
    "eb_read_429_exhausted": ("eb_read", "transient"),
    "eb_read_5xx": ("eb_read", "transient"),
    "eb_read_timeout": ("eb_read", "transient"),
    "eb_write_429_exhausted": ("eb_write", "not_sent"),
    "eb_write_5xx_before_commit": ("eb_write", "ambiguous_uncommitted"),
    "eb_write_timeout_before_commit": ("eb_write", "ambiguous_uncommitted"),
    "eb_write_5xx_after_commit": ("eb_write", "ambiguous_committed"),
    "eb_write_answer_lost": ("eb_write", "ambiguous_committed"),
    "ps_read_5xx": ("ps_read", "transient"),
    "ps_read_timeout": ("ps_read", "transient"),
    "ps_page_cut_short": ("ps_page", "transient"),
    "kill": ("kill", "kill"),
}
KINDS_OF: dict[str, list[str]] = {}
for _kind, (_cls, _effect) in FAULTS.items():
    KINDS_OF.setdefault(_cls, []).append(_kind)
KINDS_OF["ps_page"] = KINDS_OF["ps_page"] + KINDS_OF["ps_read"]  # a later page of a listing can fail like any read

# The crossings of the exactly-once protocol (and the debtor's creation) where a kill is most telling: after the claim,
# after the intent, after the send (a committed write), after the outcome is recorded.
PROTOCOL_TARGETS = frozenset(
    f"{table}.{step}" for table in ("orders", "payments", "credits") for step in ("claim", "record_intent", "booked", "refused", "release")
) | frozenset(
    {
        "store.claim_relation", "store.remember_relation", "store.forget_relation", "store.save_plans", "store.save_credit_plans", "store.mark_order_paid",
        "store.record_payments", "store.set_errors", "store.record_seen", "store.record_slips",
        "eb.POST v1/mutation", "eb.POST v1/relation", "eb.POST v1/invoice", "eb.soap/AddMutatie", "eb.soap/AddRelatie", "eb.soap/AddFactuur",
    }
)  # fmt: skip


def kill_name(target: str) -> str:
    """How a kill is reported: which step of the protocol it followed."""
    step = target.split(".", 1)[1] if "." in target else target
    if target.startswith(("eb.POST", "eb.soap/Add")):
        return f"kill after send ({target[3:]}, committed)"
    if target in PROTOCOL_TARGETS:
        return f"kill after {step}"
    return "kill elsewhere"


@dataclass
class FaultRates:
    """Per-crossing probabilities of an event, by class of crossing."""

    eb_read: float = 0.0
    eb_write: float = 0.0
    ps_read: float = 0.0
    kill_protocol: float = 0.0
    kill_other: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


@dataclass
class Fired:
    """A fault that fired: in which event, at which crossing (target and its occurrence in the event), what."""

    event: int
    target: str
    occurrence: int
    kind: str

    def as_list(self) -> list[Any]:
        return [self.target, self.occurrence, self.kind]


@dataclass
class EventFaults:
    """How an event decides its faults: from rates with its own generator, or from an explicit plan."""

    rates: FaultRates | None = None
    seed: str = ""
    plan: dict[tuple[str, int], str] | None = None
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def start(self) -> None:
        self.rng = random.Random(self.seed)

    def decide(self, target: str, occurrence: int, cls: str) -> str | None:
        """The fault of this crossing, or None."""
        if self.plan is not None:
            return self.plan.get((target, occurrence))
        rates = self.rates
        if rates is None:
            return None
        if cls == "store":
            p_fault, kinds = 0.0, []
        elif cls == "ps_page":
            p_fault, kinds = rates.ps_read, KINDS_OF["ps_page"]
        else:
            p_fault, kinds = getattr(rates, cls), KINDS_OF[cls]
        p_kill = rates.kill_protocol if target in PROTOCOL_TARGETS else rates.kill_other
        draw = self.rng.random()
        if draw < p_fault:
            return self.rng.choice(kinds)
        if draw < p_fault + p_kill:
            return "kill"
        return None


class Interleaver:
    """Runs actors (whole DAG runs) in threads of which exactly one runs at a time; at every crossing the running
    actor may hand over to another, chosen by the event's generator. The same seed gives the same interleaving."""

    def __init__(self, seed: str, switch: float | str = 0.5):
        self.rng = random.Random(seed)
        self.alternate = switch == "alternate"  # two bookers stepping alternately: hand over at every crossing
        self.switch_probability = 1.0 if self.alternate else float(switch)
        self._local = threading.local()
        self._turns: list[threading.Semaphore] = []
        self._alive: list[int] = []
        self.switches = 0

    def run(self, actors: list[Callable[[], Any]]) -> list[tuple[str, Any]]:
        """Run the actors to their end, interleaved; each one's ("ok", result) or ("exc", exception)."""
        self._turns = [threading.Semaphore(0) for _ in actors]
        self._alive = list(range(len(actors)))
        results: list[tuple[str, Any]] = [("exc", RuntimeError("never ran"))] * len(actors)

        def body(index: int, actor: Callable[[], Any]) -> None:
            self._local.me = index
            self._turns[index].acquire()
            try:
                results[index] = ("ok", actor())
            except BaseException as exc:  # noqa: BLE001 - the actor's end, whatever it was, is its result
                results[index] = ("exc", exc)
            finally:
                self._alive.remove(index)
                if self._alive:
                    self._turns[self._alive[0] if self.alternate else self.rng.choice(self._alive)].release()

        threads = [threading.Thread(target=body, args=(i, actor), name=f"sim-actor-{i}", daemon=True) for i, actor in enumerate(actors)]
        for thread in threads:
            thread.start()
        self._turns[self._alive[0] if self.alternate else self.rng.choice(self._alive)].release()
        for thread in threads:
            thread.join()
        return results

    def active(self) -> bool:
        return getattr(self._local, "me", None) is not None

    def yield_point(self) -> None:
        """Maybe hand over to another actor (called by the running actor at a crossing)."""
        me = getattr(self._local, "me", None)
        if me is None or len(self._alive) < 2 or self.rng.random() >= self.switch_probability:
            return
        other = self._alive[(self._alive.index(me) + 1) % len(self._alive)] if self.alternate else self.rng.choice(self._alive)
        if other == me:
            return
        self.switches += 1
        self._turns[other].release()
        self._turns[me].acquire()


class Boundary:
    """The crossings of one schedule: counts per event, the faults that fired, and the scheduler in use."""

    def __init__(self) -> None:
        self.event = -1
        self.faults = EventFaults()
        self.counts: Counter[str] = Counter()
        self.fired: list[Fired] = []
        self.crossings = 0
        self.interleaver: Interleaver | None = None
        self.enabled = True  # False during set-up and the final checks: no faults, no switches

    def begin_event(self, index: int, faults: EventFaults) -> None:
        self.event, self.faults, self.counts = index, faults, Counter()
        faults.start()

    def cross(self, target: str, cls: str, call: Callable[[], Any]) -> Any:
        """One crossing: maybe hand over, maybe fault before, call, maybe fault after."""
        if not self.enabled:
            return call()
        if self.interleaver is not None:
            self.interleaver.yield_point()
        occurrence = self.counts[target]
        self.counts[target] += 1
        self.crossings += 1
        kind = self.faults.decide(target, occurrence, cls)
        if kind is None:
            return call()
        effect = FAULTS[kind][1]
        self.fired.append(Fired(self.event, target, occurrence, kind))
        if effect in ("transient", "not_sent"):
            raise TransientError(f"simulated {kind} on {target}")
        if effect == "ambiguous_uncommitted":
            raise AmbiguousWrite(f"simulated {kind} on {target} (not processed)")
        call()  # it happened; what follows is that its answer never arrives
        if effect == "ambiguous_committed":
            raise AmbiguousWrite(f"simulated {kind} on {target} (processed)")
        raise Killed(f"killed after {target}")
