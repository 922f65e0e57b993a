"""Our own messages that await a ReceptionStatus, with deadlines, in bounded memory.

A peer decides how many answers it sends and for which ids, so nothing here may grow with
what the peer does: outstanding entries are capped by the sender (``send`` refuses past the
cap), and the memories of answered and timed-out ids are LRU-bounded. Deadlines live in a
FIFO (deadlines armed in order, the usual case: one ack timeout for every message) and a heap
(any deadline earlier than the FIFO's last one), both with lazy deletion and compacted whenever
stale items outnumber live ones; the earliest deadline is the smaller of the two heads, so arming,
answering and looking up the next deadline cost O(1) amortized when deadlines come in order.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TypeVar

from ..messages.base import S2Message

__all__ = ["Entry", "Ledger", "Lookup", "Waiting", "remember"]

K = TypeVar("K")
V = TypeVar("V")


class Waiting(Enum):
    """What an outstanding entry's deadline means."""

    ACK = "ack"
    """Sent; the deadline is when we stop waiting for the answer (AckTimeout)."""
    RETRY = "retry"
    """Answered TEMPORARY_ERROR; the deadline is when to send it again."""


@dataclass(slots=True)
class Entry:
    """One message we sent: the exact frame (a retry repeats it byte for byte) and its state."""

    message_id: str
    message: S2Message
    frame: str
    attempts: int
    deadline: datetime
    waiting: Waiting
    seq: int = 0


class Lookup(Enum):
    """Where a ReceptionStatus subject was found."""

    AWAITING = "awaiting"
    RETRY_PENDING = "retry_pending"
    ANSWERED = "answered"
    TIMED_OUT = "timed_out"
    UNKNOWN = "unknown"


class Ledger:
    """Outstanding messages by message_id, plus bounded memories of finished ones."""

    # One per session. An idle session keeps no deadline queue (the FIFO is made when a message is
    # sent and dropped once it runs empty: an empty deque still holds a 64-slot block), no heap and
    # no timed-out memory until something times out; its few answered ids sit in a plain dict (an
    # OrderedDict costs several hundred bytes more) until there are enough for the LRU's order to pay.
    __slots__ = ("_answered", "_fifo", "_heap", "_max_remembered", "_outstanding", "_seq", "_timed_out")

    def __init__(self, *, max_remembered: int) -> None:
        self._max_remembered = max(1, max_remembered)
        self._outstanding: dict[str, Entry] = {}
        self._answered: dict[str, None] = {}  # an OrderedDict once it holds _SMALL ids
        self._timed_out: OrderedDict[str, S2Message] | None = None
        self._fifo: deque[tuple[datetime, int, str]] | None = None  # sorted by (deadline, seq)
        self._heap: list[tuple[datetime, int, str]] | None = None  # deadlines that came out of order
        self._seq = 0

    def __len__(self) -> int:
        return len(self._outstanding)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._outstanding

    def outstanding(self) -> list[Entry]:
        """A snapshot of the entries still awaiting an answer or a retry, oldest first."""
        return list(self._outstanding.values())

    def sizes(self) -> dict[str, int]:
        """Sizes of every internal structure, for tests and memory reports."""
        return {
            "outstanding": len(self._outstanding),
            "answered": len(self._answered),
            "timed_out": len(self._timed_out or ()),
            "deadline_heap": len(self._fifo or ()) + len(self._heap or ()),
        }

    def add(self, message_id: str, message: S2Message, frame: str, deadline: datetime) -> Entry:
        """Record a freshly sent message (the caller enforces the outstanding cap)."""
        if self._answered:
            self._answered.pop(message_id, None)
        if self._timed_out:
            self._timed_out.pop(message_id, None)
        entry = Entry(message_id, message, frame, 1, deadline, Waiting.ACK)
        self._outstanding[message_id] = entry
        self._arm(entry)
        return entry

    def lookup(self, subject: str) -> tuple[Lookup, Entry | None, S2Message | None]:
        """Classify a subject: the live entry if outstanding, the message if it timed out."""
        entry = self._outstanding.get(subject)
        if entry is not None:
            kind = Lookup.AWAITING if entry.waiting is Waiting.ACK else Lookup.RETRY_PENDING
            return kind, entry, entry.message
        if subject in self._answered:
            return Lookup.ANSWERED, None, None
        late = None if self._timed_out is None else self._timed_out.get(subject)
        if late is not None:
            return Lookup.TIMED_OUT, None, late
        return Lookup.UNKNOWN, None, None

    def finish(self, subject: str) -> None:
        """The subject got its final answer: forget the entry, remember the id (bounded)."""
        outstanding = self._outstanding
        outstanding.pop(subject, None)
        if not outstanding:
            self._outstanding = {}  # an emptied dict keeps its table; a new one has none
        if self._timed_out:
            self._timed_out.pop(subject, None)
        answered = self._answered
        if len(answered) >= _SMALL and not isinstance(answered, OrderedDict):
            answered = self._answered = OrderedDict(answered)
        remember(answered, subject, None, self._max_remembered)
        if len(self._fifo or ()) + len(self._heap or ()) > 2 * len(self._outstanding) + 64:
            self._compact()

    def wait_retry(self, entry: Entry, at: datetime) -> None:
        """The entry was answered TEMPORARY_ERROR: send it again at ``at``."""
        entry.waiting = Waiting.RETRY
        entry.deadline = at
        self._arm(entry)

    def resent(self, entry: Entry, deadline: datetime) -> None:
        """The entry's frame went out again; wait for its answer until ``deadline``."""
        entry.attempts += 1
        entry.waiting = Waiting.ACK
        entry.deadline = deadline
        self._arm(entry)

    def drop(self, entry: Entry) -> None:
        """Stop tracking an entry without an answer (a retry that may no longer be sent)."""
        self.finish(entry.message_id)

    def _head(self) -> tuple[datetime, int, str] | None:
        """The earliest live deadline item, discarding stale items at both heads on the way."""
        live = self._outstanding
        fifo = self._fifo
        first: tuple[datetime, int, str] | None = None
        while fifo:
            item = fifo[0]
            entry = live.get(item[2])
            if entry is not None and entry.seq == item[1]:
                first = item
                break
            fifo.popleft()
        if fifo is not None and not fifo:
            self._fifo = fifo = None
        heap = self._heap
        while heap:
            item = heap[0]
            entry = live.get(item[2])
            if entry is not None and entry.seq == item[1]:
                if first is None or item < first:
                    return item
                return first
            heapq.heappop(heap)
        return first

    def next_deadline(self) -> datetime | None:
        """The earliest live deadline, discarding stale items on the way."""
        item = self._head()
        return None if item is None else item[0]

    def pop_due(self, now: datetime) -> list[Entry]:
        """Entries whose deadline passed, in deadline order. An ACK entry that is due timed
        out: it moves to the timed-out memory so a late answer can still be matched. A RETRY
        entry stays outstanding; the caller resends or drops it."""
        due: list[Entry] = []
        while (item := self._head()) is not None and item[0] <= now:
            if self._fifo and self._fifo[0] is item:
                self._fifo.popleft()
            elif self._heap:
                heapq.heappop(self._heap)
            entry = self._outstanding[item[2]]
            if entry.waiting is Waiting.ACK:
                del self._outstanding[item[2]]
                if self._timed_out is None:
                    self._timed_out = OrderedDict()
                self._remember(self._timed_out, item[2], entry.message)
            due.append(entry)
        return due

    def _arm(self, entry: Entry) -> None:
        self._seq = seq = entry.seq = self._seq + 1
        item = (entry.deadline, seq, entry.message_id)
        fifo = self._fifo
        if fifo is None:
            fifo = self._fifo = deque()
        if not fifo or fifo[-1][0] <= item[0]:
            fifo.append(item)  # seq grows, so the FIFO stays sorted by (deadline, seq)
        else:
            if self._heap is None:
                self._heap = []
            heapq.heappush(self._heap, item)
        if len(fifo) + len(self._heap or ()) > 2 * len(self._outstanding) + 64:
            self._compact()

    def _compact(self) -> None:
        live = self._outstanding
        kept = [item for item in self._fifo or () if (e := live.get(item[2])) is not None and e.seq == item[1]]
        self._fifo = deque(kept) if kept else None
        heap = [item for item in self._heap or () if (e := live.get(item[2])) is not None and e.seq == item[1]]
        heapq.heapify(heap)
        self._heap = heap or None

    def _remember(self, memory: OrderedDict[str, V], key: str, value: V) -> None:
        remember(memory, key, value, self._max_remembered)


_SMALL = 32
"""Below this many entries a plain dict serves as the LRU: finding its oldest entry is cheap while it is small."""


def remember(memory: dict[K, V], key: K, value: V, cap: int) -> None:
    """Put ``key`` as the newest item, evicting the oldest beyond ``cap`` (an LRU by insertion).

    ``memory`` is an OrderedDict, or a plain dict kept small (its oldest entry is found by iterating)."""
    if isinstance(memory, OrderedDict):
        if key in memory:
            memory.move_to_end(key)
        memory[key] = value
        while len(memory) > cap:
            memory.popitem(last=False)
        return
    memory.pop(key, None)
    memory[key] = value
    while len(memory) > cap:
        del memory[next(iter(memory))]
