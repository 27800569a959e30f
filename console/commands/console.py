"""`switchboard` with no command: the console, for the person at the keyboard."""

from __future__ import annotations

from pathlib import Path

from console import logs
from console.app import make_app
from console.context import ConsoleContext
from console.options import open_db, resolve_actor, run
from core.paths import console_log_path
from providers.wiring import email_gateway, load_config, sms_gateway


def open_console(db_path: Path | None, as_user: str | None) -> None:
    """Open the console as the OS login (or --as on a demo database)."""

    async def body() -> None:
        db = await open_db(db_path)
        try:
            actor = await resolve_actor(db, as_user)
            config = load_config()
            gateway = await sms_gateway(db, config)
            log_path = logs.setup_console(console_log_path())
            context = ConsoleContext(
                db, actor, gateway, log_path=log_path, email_gateway=email_gateway(config)
            )
            await make_app(context).run_async()
        finally:
            await db.close()

    run(body())
