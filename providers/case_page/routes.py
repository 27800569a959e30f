"""The routes of /c/: the case, the compose form, the recipients search, the email form.

Every request starts from the link's token (core.cases.links.check): a bad,
expired or revoked one gets the same plain 404, which shows nothing of any
case. The case itself may answer from a check kept while the change feed has
not moved (a revocation shows within one watch interval); forms and posts
always check in full. A post must also carry the form token of that same link and, when the
browser names an Origin, come from this server; then post/redirect/get.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

from aiohttp import web

from core.cases import links, notes, page
from core.cases.links import Grant, LinkInvalid
from core.db import Database
from core.errors import SwitchboardError
from providers.case_page import forms, render, security
from providers.case_page.cache import PageCache
from providers.case_page.checks import LinkChecks
from providers.case_page.watch import FeedWatch

log = logging.getLogger("switchboard.case_page")

FORM_MAX_AGE_S: Final = 86_400
"""A form left open this long must be reloaded before it is sent (a day of reading)."""
CHECKED: Final = web.RequestKey("switchboard.case_link", links.Checked)
"""Where a request keeps its link's check (links.Checked: the grant, the settings read with it)."""
FLASH: Final = {"sent": "Your note was sent.", "email": "Your email address was saved."}

Route = Callable[[web.Request], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request, Grant], Awaitable[web.StreamResponse]]
PostHandler = Callable[[web.Request, Grant, forms.Form], Awaitable[web.StreamResponse]]


class CasePage:
    def __init__(
        self, db: Database, *, cache: PageCache | None = None, checks: LinkChecks | None = None
    ) -> None:
        self.db = db
        self.cache = cache if cache is not None else PageCache()
        self.watch = FeedWatch(db)
        self.checks = checks if checks is not None else LinkChecks()
        self.app = web.Application()
        self.app.on_cleanup.append(self._stop_watch)
        self.app.on_response_prepare.append(security.add_headers)
        self.app.router.add_get("/static/page.css", self._css)
        self.app.router.add_get("/{token}", self._case)
        self.app.router.add_get("/{token}/note", self._granted(self._compose))
        self.app.router.add_post("/{token}/note", self._posted(self._send))
        self.app.router.add_get("/{token}/recipients", self._granted(self._recipients))
        # The compose form and the search post here: the note's text never goes in a URL.
        self.app.router.add_post("/{token}/recipients", self._posted(self._recipients_posted))
        self.app.router.add_get("/{token}/email", self._granted(self._email_form))
        self.app.router.add_post("/{token}/email", self._posted(self._save_email))
        # Any other path under /c/ (a token cut or pasted with more) gets the same page.
        self.app.router.add_route("*", "/{tail:.*}", self._no_such_link)

    # --- the gate ------------------------------------------------------------

    def _granted(self, handler: Handler) -> Route:
        async def granted(request: web.Request) -> web.StreamResponse:
            try:
                checked = await links.check(self.db, request.match_info["token"])
            except LinkInvalid:
                return await self._no_such_link(request)
            request[CHECKED] = checked
            return await handler(request, checked.grant)

        return granted

    def _posted(
        self, handler: PostHandler
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def posted(request: web.Request, grant: Grant) -> web.StreamResponse:
            config = _checked(request).settings
            if not security.same_origin(request, config.case_page_url):
                return _refused("this form was sent from another site")
            try:
                form = await forms.read(request)
            except forms.FormRefused as exc:
                return render.plain(exc.status, "Not sent", f"Not sent: {exc.reason}.")
            try:
                secret = await links.form_secret(self.db)
                links.check_form_token(
                    secret, self.db.clock, grant, form.get("csrf"), FORM_MAX_AGE_S
                )
            except LinkInvalid:
                return _refused("this form has expired or did not come from this page")
            return await handler(request, grant, form)

        return self._granted(posted)

    # --- pages ---------------------------------------------------------------

    async def _no_such_link(self, request: web.Request) -> web.Response:
        return render.plain(404, "Link not valid", render.NOT_VALID)

    async def _stop_watch(self, app: web.Application) -> None:
        await self.watch.stop()

    async def _css(self, request: web.Request) -> web.Response:
        return web.Response(body=render.stylesheet(), content_type="text/css")

    async def _case(self, request: web.Request) -> web.Response:
        token, done = request.match_info["token"], request.query.get("done", "")
        key = (token, done if done in FLASH else "")
        # A check kept while the feed has not moved answers without a read; else one
        # read checks the link and says where the feed was: a page kept from that
        # position is still right (a write landing after it moves the feed).
        checked = self.checks.get(token, self.watch.position(), self.db.clock)
        if checked is None:
            try:
                checked = await links.check(self.db, token)
            except LinkInvalid:
                return await self._no_such_link(request)
            self.checks.put(token, checked)
        html = self.cache.get(key, checked.feed_id)
        if html is None:
            html = await self._case_html(
                request, checked.grant, checked.settings.time_zone, FLASH.get(done, "")
            )
            self.cache.put(key, checked.feed_id, html)
        return render.answer(html)

    async def _case_html(self, request: web.Request, grant: Grant, zone: str, flash: str) -> str:
        view = await page.view(self.db, grant)
        by_id = {n.id: n for n in view.notes}
        shown = [
            {
                "id": n.id,
                "author": n.author,
                "recipients": n.recipients,
                "subject": n.subject,
                "body": n.body,
                "when": render.when(n.created_at, zone),
                "is_original": n.is_original,
                "original": _brief(by_id.get(n.reply_to) if n.reply_to else None, zone),
            }
            for n in view.notes
        ]
        return render.html("case.html", view=view, notes=shown, base=_base(request), flash=flash)

    async def _compose(self, request: web.Request, grant: Grant) -> web.Response:
        form = forms.query_form(request)
        reply_to = _one_id(form.get("reply_to"))
        chosen_ids = forms.ids(form.getall("to"))
        mode = form.get("mode")
        error = ""
        if reply_to is not None and mode in ("reply", "all"):
            answer = page.reply_all_recipients if mode == "all" else page.reply_recipients
            try:
                chosen_ids = await answer(self.db, grant, reply_to)
            except SwitchboardError as exc:
                chosen_ids, reply_to, error = [], None, str(exc)
        return await self._compose_page(
            request, grant, form.get("body"), chosen_ids, reply_to, error=error
        )

    async def _compose_page(
        self,
        request: web.Request,
        grant: Grant,
        body: str,
        chosen_ids: Sequence[int],
        reply_to: int | None,
        *,
        error: str = "",
        status: int = 200,
    ) -> web.Response:
        view = await page.view(self.db, grant)
        people = {c.contact_id: c for c in await page.search_recipients(self.db, grant, "")}
        answering = next((n for n in view.notes if n.id == reply_to), None)
        zone = _checked(request).settings.time_zone
        return render.page(
            "note.html",
            status,
            view=view,
            base=_base(request),
            csrf=await self._csrf(grant),
            body=body,
            chosen=[people[i] for i in chosen_ids if i in people],
            reply_to=reply_to if answering is not None else None,
            answering=_brief(answering, zone),
            error=error,
            max_body=notes.MAX_BODY,
        )

    async def _send(
        self, request: web.Request, grant: Grant, form: forms.Form
    ) -> web.StreamResponse:
        body, chosen = form.get("body"), forms.ids(form.getall("to"))
        reply_to = _one_id(form.get("reply_to"))
        if form.get("back"):  # "Save recipients": the form again, with them, nothing sent
            return await self._compose_page(request, grant, body, chosen, reply_to)
        try:
            await page.add_note(self.db, grant, body, chosen, reply_to)
        except SwitchboardError as exc:
            return await self._compose_page(
                request, grant, body, chosen, reply_to, error=f"Not sent: {exc}", status=400
            )
        raise web.HTTPSeeOther(f"{_base(request)}?done=sent")

    async def _recipients(self, request: web.Request, grant: Grant) -> web.Response:
        # A note's text never travels in a URL (browser history, proxies' logs keep
        # those): our pages post it, and one typed by hand into the query is dropped.
        asked = forms.query_form(request)
        return await self._recipients_page(request, grant, asked.without("body"))

    async def _recipients_posted(
        self, request: web.Request, grant: Grant, form: forms.Form
    ) -> web.StreamResponse:
        return await self._recipients_page(request, grant, form)

    async def _recipients_page(
        self, request: web.Request, grant: Grant, form: forms.Form
    ) -> web.Response:
        chosen_ids = forms.ids(form.getall("to"))
        q = form.get("q")
        error = ""
        everyone = await page.search_recipients(self.db, grant, "")
        try:
            people = await page.search_recipients(self.db, grant, q)
        except SwitchboardError as exc:
            people, error = everyone, str(exc)
        found = {c.contact_id for c in people}
        return render.page(
            "recipients.html",
            view=await page.view(self.db, grant),
            base=_base(request),
            csrf=await self._csrf(grant),
            q=q,
            body=form.get("body"),
            reply_to=_one_id(form.get("reply_to")),
            people=people,
            kept=[c for c in everyone if c.contact_id in chosen_ids and c.contact_id not in found],
            chosen_ids=set(chosen_ids),
            error=error,
        )

    async def _email_form(self, request: web.Request, grant: Grant) -> web.Response:
        return await self._email_page(request, grant, "")

    async def _email_page(
        self, request: web.Request, grant: Grant, email: str, *, error: str = "", status: int = 200
    ) -> web.Response:
        return render.page(
            "email.html",
            status,
            view=await page.view(self.db, grant),
            base=_base(request),
            csrf=await self._csrf(grant),
            email=email,
            error=error,
        )

    async def _save_email(
        self, request: web.Request, grant: Grant, form: forms.Form
    ) -> web.StreamResponse:
        email = form.get("email")
        try:
            await page.add_email(self.db, grant, email)
        except SwitchboardError as exc:
            return await self._email_page(
                request, grant, email, error=f"Not saved: {exc}", status=400
            )
        raise web.HTTPSeeOther(f"{_base(request)}?done=email")

    async def _csrf(self, grant: Grant) -> str:
        return links.form_token(await links.form_secret(self.db), self.db.clock, grant)


def _checked(request: web.Request) -> links.Checked:
    return request[CHECKED]


def _base(request: web.Request) -> str:
    """This link's page, as a path (the token is the client's own)."""
    return f"/c/{request.match_info['token']}"


def _refused(reason: str) -> web.Response:
    return render.plain(
        403, "Not sent", f"Not sent: {reason}. Go back, reload the page and send it again."
    )


def _one_id(text: str) -> int | None:
    found = forms.ids([text])
    return found[0] if found else None


def _brief(note: page.PageNote | None, zone: str) -> dict[str, Any] | None:
    if note is None:
        return None
    return {"author": note.author, "body": note.body, "when": render.when(note.created_at, zone)}
