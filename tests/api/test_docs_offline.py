import re

import pytest

from core.settings import Settings
from tests.desk.helpers import client_for, running_app

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("db")]


@pytest.mark.parametrize(
    ("path", "marker", "kinds"),
    [("/docs", "SwaggerUIBundle", {".js", ".css"}), ("/redoc", "<redoc spec-url=", {".js"})],
)
async def test_docs_page_and_its_assets_come_from_the_service(
    settings: Settings, path: str, marker: str, kinds: set[str]
) -> None:
    async with running_app(settings) as (app, _services), client_for(app) as client:
        page = await client.get(path)
        assert page.status_code == 200 and marker in page.text
        assert not re.search(r"https?://", page.text), "no CDN or other external URL"
        assets = re.findall(r'(?:src|href)="(/[^"]+)"', page.text)
        assert kinds <= {a[a.rfind(".") :] for a in assets}
        for asset in assets:
            assert (await client.get(asset)).status_code == 200, asset
