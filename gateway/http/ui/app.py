"""The dashboard's routes: login and logout, the pages of ``pages.PAGES``, the CSV export, the vendored assets.

Every page is one HTML response (its data and chart series inside it) plus cached static files. A loader runs in a
worker thread; the database never blocks the event loop. Security: see ``session.py``; the pages also send a
Content-Security-Policy that allows scripts, styles and connections to this origin only (no inline script runs),
``X-Frame-Options: DENY`` and ``Cache-Control: no-store``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qs, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.errors import DatabaseUnavailable, GatewayError, NotFound, RequestError
from gateway.http.handlers.usage import report_query
from gateway.http.services import Services, services
from gateway.http.ui import filters, queries
from gateway.http.ui.pages import PAGES, Page
from gateway.http.ui.session import COOKIE, Session, Sessions, cookie_options, same_origin
from gateway.reports import run_report
from gateway.reports.render import report_csv

logger = logging.getLogger("gateway.ui")
MAX_FORM_BYTES = 4096
OPEN = Session(nonce="", expires=0, csrf="")  # a gateway without a master key: no login, as for the admin API
HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


class Dashboard:
    def __init__(self) -> None:
        self.templates = Environment(
            loader=PackageLoader("gateway.http.ui", "templates"),
            autoescape=select_autoescape(),
            auto_reload=False,
            undefined=StrictUndefined,  # a misspelt field is an error, not an empty cell
        )
        self.templates.filters.update(filters.FILTERS)
        self.pages = {page.slug: page for page in PAGES}
        self._sessions: dict[str, Sessions] = {}

    def sessions(self, svc: Services) -> Sessions | None:
        master = svc.config.general_settings.master_key
        if master is None:
            return None
        secret = master.get_secret_value()
        return self._sessions.setdefault(secret, Sessions(secret))

    def session(self, request: Request) -> Session | None:
        sessions = self.sessions(services(request))
        return OPEN if sessions is None else sessions.read(request.cookies.get(COOKIE))

    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        defaults = {"page": None, "error": None, "pages": PAGES, "root": request.scope.get("root_path", "")}
        html = self.templates.get_template(template).render({**defaults, **context})
        return HTMLResponse(html, status_code=status, headers=HEADERS)


def ui_app() -> Starlette:
    ui = Dashboard()

    async def home(request: Request) -> Response:
        return _redirect(request, "/overview")

    async def login_form(request: Request) -> Response:
        if ui.sessions(services(request)) is None:
            return _redirect(request, "/overview")
        return ui.render(request, "login.html", session=None)

    async def login(request: Request) -> Response:
        sessions = ui.sessions(services(request))
        if sessions is None:
            return _redirect(request, "/overview")
        form = await _form(request)
        if not same_origin(request) or not sessions.is_master(form.get("key", "")):
            return ui.render(request, "login.html", 401, session=None, error="That is not this gateway's master key.")
        cookie, _ = sessions.new()
        response = _redirect(request, "/overview")
        response.set_cookie(COOKIE, cookie, max_age=12 * 3600, **cookie_options(request))  # type: ignore[arg-type]
        return response

    async def logout(request: Request) -> Response:
        session = ui.session(request)
        form = await _form(request)
        if session is None or not same_origin(request) or form.get("csrf") != session.csrf:
            return ui.render(request, "error.html", 403, session=session, error="The form was not sent from this page.")
        response = _redirect(request, "/login")
        response.delete_cookie(COOKIE, **cookie_options(request))  # type: ignore[arg-type]
        return response

    async def costs_csv(request: Request) -> Response:
        if ui.session(request) is None:
            return _redirect(request, "/login")
        params = _params(request)
        report = await _in_thread(services(request), lambda db: run_report(db, _report_query(db, params)))
        headers = {**HEADERS, "content-disposition": 'attachment; filename="costs.csv"'}
        return Response(report_csv(report), media_type="text/csv; charset=utf-8", headers=headers)

    async def page(request: Request) -> Response:
        session = ui.session(request)
        if session is None:
            return _redirect(request, "/login")
        found = ui.pages.get(request.path_params["slug"])
        item = request.path_params.get("item")
        if found is None or (item is not None and found.detail is None):
            return ui.render(request, "error.html", 404, session=session, error="There is no such page.")
        try:
            return await _page(ui, request, session, found, item)
        except GatewayError as exc:
            return ui.render(request, "error.html", exc.status, session=session, page=found, error=exc.message)
        except Exception:  # a bug: logged with its traceback, shown as a plain error page
            logger.exception("dashboard page %s failed", request.url.path)
            return ui.render(request, "error.html", 500, session=session, page=found, error="Internal error.")

    return Starlette(
        routes=[
            Route("/", home),
            Route("/login", login_form, methods=["GET"]),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/costs.csv", costs_csv),
            Mount("/static", app=StaticFiles(packages=[("gateway.http.ui", "static")])),
            Route("/{slug}", page),
            Route("/{slug}/{item:path}", page),
        ]
    )


async def _page(ui: Dashboard, request: Request, session: Session, page: Page, item: str | None) -> Response:
    params = _params(request)
    svc = services(request)
    if item is None:
        data = await _in_thread(svc, lambda db: page.load(db, params))
        template = "requests_rows.html" if page.slug == "requests" and params.get("fragment") else page.template
    else:
        assert page.detail is not None and page.detail_template is not None
        detail = page.detail
        data = await _in_thread(svc, lambda db: detail(db, item, params))
        template = page.detail_template
    query = urlencode([(k, v) for k, v in params.items() if k not in ("fragment", "before")])
    return ui.render(request, template, session=session, page=page, data=data, query=query)


def _report_query(database: Any, params: dict[str, str]) -> Any:
    """The costs page's query: a key or team may be given by name."""
    return report_query(queries.names(database).ids(params))


def _params(request: Request) -> dict[str, str]:
    """The query's parameters; one given several times (a form's checkboxes: ``group_by``) as the API's comma list."""
    params = request.query_params
    return {name: ",".join(v for v in params.getlist(name) if v) for name in params}


async def _in_thread(svc: Services, read: Any) -> Any:
    if svc.database is None:
        raise DatabaseUnavailable("This gateway has no database, so the dashboard has nothing to show.")
    try:
        return await asyncio.to_thread(read, svc.database)
    except (OperationalError, InterfaceError) as exc:  # the driver's message may hold the URL: not on the page
        raise DatabaseUnavailable("The database cannot be reached now; try again.") from exc
    except LookupError as exc:  # a store's "not found" (a prompt, a version, an eval run), in its own words
        raise NotFound(str(exc)) from exc
    except ValueError as exc:  # a bad parameter (a version that is not a number, say)
        raise RequestError(str(exc)) from exc


async def _form(request: Request) -> dict[str, str]:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return {}
    fields = parse_qs(body.decode(errors="replace"), max_num_fields=8)
    return {name: values[0] for name, values in fields.items()}


def _redirect(request: Request, path: str) -> RedirectResponse:
    return RedirectResponse(request.scope.get("root_path", "") + path, status_code=303, headers=HEADERS)
