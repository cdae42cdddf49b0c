"""Interactive API documentation served from packaged assets (Swagger UI and ReDoc from the
``fastapi-offline`` package), so that /docs and /redoc work without internet access, as on a
government intranet; and the site's favicon."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

DOCS_ASSETS = "/static/docs"
FAVICON = Path(__file__).resolve().parent.parent / "pages" / "static" / "favicon.ico"
router = APIRouter(include_in_schema=False)


def assets_dir() -> Path:
    """The folder of the packaged Swagger UI and ReDoc files."""
    return Path(str(resources.files("fastapi_offline").joinpath("static")))


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    app: FastAPI = request.app
    return get_swagger_ui_html(
        openapi_url=str(app.openapi_url), title=f"{app.title} · 接口文档",
        oauth2_redirect_url="/docs/oauth2-redirect",
        swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url="/favicon.ico",
        swagger_ui_parameters={"validatorUrl": None},  # no call to the online validator
    )


@router.get("/docs/oauth2-redirect", response_class=HTMLResponse)
def swagger_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    app: FastAPI = request.app
    return get_redoc_html(
        openapi_url=str(app.openapi_url), title=f"{app.title} · 接口文档 (ReDoc)",
        redoc_js_url="/docs/redoc.standalone.js", redoc_favicon_url="/favicon.ico",
        with_google_fonts=False,
    )


# The ReDoc bundle shows its "API docs by Redocly" logo from a CDN; offline, it shows ours.
REDOC_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


@cache
def _redoc_bundle() -> bytes:
    return (assets_dir() / "redoc.standalone.js").read_bytes().replace(
        REDOC_CDN_LOGO, b"/static/favicon.svg")


@router.get("/docs/redoc.standalone.js")
def redoc_bundle() -> Response:
    return Response(_redoc_bundle(), media_type="text/javascript",
                    headers={"Cache-Control": "public, max-age=86400"})


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    return FileResponse(FAVICON, media_type="image/x-icon")


def mount_assets(app: FastAPI) -> None:
    app.mount(DOCS_ASSETS, StaticFiles(directory=assets_dir()), name="docs-assets")
