"""The worker serves on uvloop where it is installed; other commands, and a machine
without it, on asyncio's own loop."""

from __future__ import annotations

import asyncio
import sys

import pytest

from console import options, server_loop


async def _running_loop() -> type[asyncio.AbstractEventLoop]:
    return type(asyncio.get_running_loop())


def _library(loop: type[asyncio.AbstractEventLoop]) -> str:
    return loop.__module__.partition(".")[0]


def test_a_serving_command_runs_on_uvloop_and_the_others_on_asyncios_loop() -> None:
    uvloop = pytest.importorskip("uvloop")  # installed everywhere but Windows
    assert options.run(_running_loop(), server=True) is uvloop.Loop
    assert _library(options.run(_running_loop())) == "asyncio"
    assert server_loop.name() == "uvloop"


def test_without_uvloop_the_worker_serves_on_asyncios_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as on Windows: the import fails
    assert server_loop.factory() is None
    assert server_loop.name() == "asyncio"
    assert _library(options.run(_running_loop(), server=True)) == "asyncio"
