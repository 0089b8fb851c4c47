"""Sleeps that something can cut short, without blocking the reactor."""

from __future__ import annotations

from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred


class Alarm:
    """``await alarm.sleep(seconds)`` returns when the time is up or at the next
    ``alarm.ring()``, whichever comes first: a waiter polls slowly yet hears news at once."""

    def __init__(self) -> None:
        self.sleepers: list[Deferred] = []

    async def sleep(self, timeout: float) -> None:
        woken = Deferred()
        self.sleepers.append(woken)
        timer = call_later(timeout, self.wake, woken)
        try:
            await maybe_deferred_to_future(woken)
        finally:
            timer.cancel()

    @staticmethod
    def wake(deferred: Deferred) -> None:
        if not deferred.called:
            deferred.callback(None)

    def ring(self) -> None:
        sleepers, self.sleepers = self.sleepers, []
        for deferred in sleepers:
            self.wake(deferred)
