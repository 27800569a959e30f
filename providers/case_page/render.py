"""HTML from the package's Jinja2 templates, escaped: every value is text, never markup."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web

NOT_VALID = "This link is not valid or has expired. Ask your service provider for a new one."


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("providers.case_page", "templates"),
        autoescape=True,  # every template, whatever its name
        # Compiled once: the templates ship with the code, so a request need not
        # look at the files again to see whether they changed.
        auto_reload=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def stylesheet() -> bytes:
    return (resources.files("providers.case_page") / "static" / "page.css").read_bytes()


def html(template: str, **values: Any) -> str:
    return _env().get_template(template).render(**values)


def answer(text: str, status: int = 200) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/html", charset="utf-8")


def page(template: str, status: int = 200, **values: Any) -> web.Response:
    return answer(html(template, **values), status)


def plain(status: int, title: str, message: str) -> web.Response:
    """A page that shows nothing of any case: refusals, bad links."""
    return page("plain.html", status, title=title, message=message)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def when(moment: datetime, zone: str) -> str:
    """A note's date and time in the account's time zone, e.g. "2 Mar 2026, 14:30"."""
    local = moment.astimezone(_zone(zone))
    return f"{local.day} {local:%b %Y, %H:%M}"
