"""The FastAPI app: composes every package; routers stay thin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.middleware.sessions import SessionMiddleware

from api.body import BodyLimit, BodyTooLarge, body_too_large_handler
from api.container import Services, build_services
from api.routers import (
    console,
    eligibility,
    health,
    kakao,
    notifier_api,
    optin,
    staff_api,
    telegram,
    webchat,
)
from core.privacy import configure_logging
from core.secrets import session_secret
from core.settings import Settings, get_settings
from desk.errors import DeskError

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        app.state.services = services or await build_services(settings)
        await app.state.services.start()
        try:
            yield
        finally:
            await app.state.services.stop()
            if owned:
                await app.state.services.close()

    # /docs (Swagger UI) and /redoc with their JS/CSS served from the installed package, not a
    # CDN: they work on an offline desk.
    app = FastAPIOffline(
        title="gopa-desk",
        version="0.1.0",
        description="김포산업진흥원 현장데스크 챗봇 · 기업지원사업알리미 · 상담 기록",
        lifespan=lifespan,
        static_url="/docs-assets",
    )
    # Console sessions: a signed cookie (itsdangerous) holding the staff id and CSRF token.
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings),
        session_cookie="gopa_console",
        max_age=settings.session_max_age_s,
        same_site="lax",
        https_only=settings.public_base_url.startswith("https://"),
    )
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    # Added last, so it runs first: the Kakao skill skips the rest of the stack (see its docstring).
    app.add_middleware(kakao.KakaoSkillFastPath)
    app.add_exception_handler(BodyTooLarge, body_too_large_handler)
    app.add_exception_handler(DeskError, staff_api.desk_error_handler)
    app.include_router(health.router)
    app.include_router(telegram.router)
    app.include_router(webchat.router)
    app.include_router(eligibility.router, prefix="/api/v1")
    app.include_router(staff_api.router, prefix="/api/v1")
    app.include_router(notifier_api.router, prefix="/api/v1")
    app.include_router(notifier_api.public_router)
    app.include_router(optin.router)
    app.include_router(console.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    return app
