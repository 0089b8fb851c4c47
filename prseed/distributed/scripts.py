"""The Lua scripts that make each change to the shared state atomic, one ``lua/NAME.lua``
file each (its comment says what its KEYS and ARGV are)."""

from __future__ import annotations

from pathlib import Path

LUA = Path(__file__).with_name("lua")


def lua(name: str) -> str:
    return (LUA / f"{name}.lua").read_text(encoding="utf-8")


# the queue of repositories (prseed.distributed.queue)
TAKE = lua("take")
ENQUEUE = lua("enqueue")
RELEASE = lua("release")
UPGRADE = lua("upgrade")
# each token's shared state (prseed.distributed.tokens)
RECORD_BUDGET = lua("record_budget")
REST = lua("rest")
REST_UNTIL_RESET = lua("rest_until_reset")
