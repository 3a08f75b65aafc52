"""python-telegram-bot's HTTP layer on aiohttp, for the delivery worker's fan-out.

`Bot` stays the sender (its parameters, its error mapping: RetryAfter, Forbidden, ...); only
the transport under it changes. PTB's default `HTTPXRequest` costs about 1.2 ms of CPU per
call on the benchmark VM (httpx → httpcore → anyio → h11), which caps one worker process
near a few hundred messages a second; aiohttp's C-accelerated client does the same call for
a fraction of that (figures in docs/benchmarks.md). The notifier sends text only, so uploads
are refused rather than half-supported.
"""

from __future__ import annotations

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

DEFAULT_TIMEOUT_S = 5.0


class AiohttpRequest(BaseRequest):
    def __init__(
        self,
        connection_pool_size: int = 4,
        read_timeout: float | None = DEFAULT_TIMEOUT_S,
        connect_timeout: float | None = DEFAULT_TIMEOUT_S,
        pool_timeout: float | None = 30.0,
    ) -> None:
        self.pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        write_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        connect_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        pool_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        if request_data is not None and request_data.multipart_data:
            raise ValueError("the notifier's Telegram transport sends no files")
        read = self._read_timeout if read_timeout is BaseRequest.DEFAULT_NONE else read_timeout
        connect = self._connect_timeout if connect_timeout is BaseRequest.DEFAULT_NONE else connect_timeout
        pool = self._pool_timeout if pool_timeout is BaseRequest.DEFAULT_NONE else pool_timeout
        timeout = aiohttp.ClientTimeout(
            sock_read=read,  # type: ignore[arg-type]
            # aiohttp's `connect` covers waiting for a free pooled connection and connecting.
            connect=None if pool is None or connect is None else pool + connect,  # type: ignore[operator]
        )
        data = request_data.json_parameters if request_data is not None else None
        try:
            async with self._session.request(method, url, data=data, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err
