import re

import pytest

from core.settings import Settings
from tests.desk.helpers import client_for, running_app

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("db")]


async def test_docs_page_and_its_assets_come_from_the_service(settings: Settings) -> None:
    async with running_app(settings) as (app, _services), client_for(app) as client:
        page = await client.get("/docs")
        assert page.status_code == 200 and "SwaggerUIBundle" in page.text
        assert not re.search(r"https?://", page.text), "no CDN or other external URL"
        assets = re.findall(r'(?:src|href)="(/[^"]+)"', page.text)
        assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
        for asset in assets:
            assert (await client.get(asset)).status_code == 200, asset
