"""R4 in the console: a manager's change to a user's permission profile applies to
their running console at once, from the change feed, without a new login."""

from __future__ import annotations

from textual.widgets import TabbedContent

from core.db import Database
from core.people.authz import SYSTEM
from core.permissions import profiles
from tests.console.conftest import SIZE, until


async def test_a_profile_switch_reaches_a_running_console(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.query("#manager")
        assert app.sub_title == "Alice Moreau (Agent)"
        # Another process (the CLI, a manager's console) gives alice the Manager profile.
        await profiles.assign(demo_db, SYSTEM, "Manager", "alice", activate=True)
        assert await until(pilot, lambda: app.query("#manager"))
        # The Manager profile brings the statistics and campaigns tabs too.
        manager_only = ("statistics", "campaigns")
        assert await until(pilot, lambda: all(app.query(f"#{t}") for t in manager_only))
        assert app.sub_title == "Alice Moreau (Manager)"
        assert app.context.actor.profile_name == "Manager"
        assert app.check_action("show_tab", ("manager",)) is True
        await pilot.press("f3")
        assert await until(
            pilot, lambda: app.query_one("#main-tabs", TabbedContent).active == "manager"
        )
        assert await until(pilot, lambda: app.query("#manager-pane"))  # made when chosen
        # And back: the tabs go, and the rights with them. Waited for to the last one:
        # leaving while they go would close the app under the tab bar's removal.
        await profiles.activate(demo_db, SYSTEM, "alice", "Agent")
        assert await until(
            pilot,
            lambda: not any(app.query(f"#{tab}") for tab in ("manager", *manager_only)),
        )
        assert app.query_one("#main-tabs", TabbedContent).active == "conversations"
        assert app.sub_title == "Alice Moreau (Agent)"


async def test_an_edit_to_the_profile_itself_reaches_the_console(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await profiles.edit(demo_db, SYSTEM, "Agent", supervision=True)
        assert await until(pilot, lambda: app.context.actor.settings.supervision)
        assert await until(pilot, lambda: app.query("#manager"))
        await pilot.press("f3")
        assert await until(pilot, lambda: app.query("#manager-pane"))
        # The new tab's panes read from the database as they mount; closing meanwhile is
        # allowed (they stop), but this test is about what they show.
        await app.workers.wait_for_complete()
        await pilot.pause()
