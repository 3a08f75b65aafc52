"""`bot.ports.SubscriptionPort` for the dialogue: a chat user becomes a subscriber.

Kakao users are keyed by botUserKey (`Message.user_key`), with plusfriendUserKey kept as
the alternative key the Event API also accepts; Telegram users by their chat id. The web chat and
the CLI have no address to push to: their users subscribe an e-mail address they give
(`address`), and end it with the one-step link every e-mail carries.
"""

from __future__ import annotations

from bot.ports import EMAIL_CHANNELS, SubscriptionResult
from bot.reply import Message
from notifier.subscriptions import SubscriptionError, SubscriptionService

_CHANNEL_OF = {"kakao": "kakao", "telegram": "telegram"}
NOT_ON_THIS_CHANNEL = "알림은 카카오톡 채널이나 텔레그램에서 신청할 수 있어요."
NEEDS_EMAIL = "알림을 받으실 이메일 주소가 필요해요."


class NotifierSubscriptionPort:
    def __init__(self, service: SubscriptionService) -> None:
        self.service = service

    @property
    def known_topics(self) -> list[str]:
        return list(self.service.known_topics)

    async def subscribe(
        self, message: Message, topics: list[str], *, consent: bool, address: str | None = None
    ) -> SubscriptionResult:
        if message.channel in EMAIL_CHANNELS:
            return await self._subscribe_email(address, topics, consent=consent)
        channel = _CHANNEL_OF.get(message.channel)
        if channel is None:
            return SubscriptionResult(ok=False, message=NOT_ON_THIS_CHANNEL)
        alt = (message.profile or {}).get("plusfriendUserKey") if channel == "kakao" else None
        try:
            view = await self.service.subscribe(channel, message.user_key, topics, consent=consent, alt_address=alt)
        except SubscriptionError as exc:
            return SubscriptionResult(ok=False, message=str(exc))
        listed = ", ".join(view.topics)
        return SubscriptionResult(
            ok=True,
            topics=view.topics,
            message=f"알림을 신청했어요. 관심 분야: {listed}. 그만 받으려면 '알림 해지'라고 보내 주세요.",
        )

    async def _subscribe_email(self, address: str | None, topics: list[str], *, consent: bool) -> SubscriptionResult:
        if not address:
            return SubscriptionResult(ok=False, message=NEEDS_EMAIL)
        try:
            view = await self.service.subscribe("email", address, topics, consent=consent)
        except SubscriptionError as exc:
            return SubscriptionResult(ok=False, message=str(exc))
        return SubscriptionResult(
            ok=True,
            topics=view.topics,
            message=(
                f"이메일 알림을 신청했어요. 관심 분야: {', '.join(view.topics)}. "
                "그만 받으려면 알림 메일 아래의 '수신 거부' 링크를 눌러 주세요."
            ),
        )

    async def unsubscribe(self, message: Message) -> SubscriptionResult:
        channel = _CHANNEL_OF.get(message.channel)
        if channel is None:
            return SubscriptionResult(ok=False, message=NOT_ON_THIS_CHANNEL)
        try:
            ended = await self.service.unsubscribe(channel, message.user_key)
        except SubscriptionError as exc:
            return SubscriptionResult(ok=False, message=str(exc))
        if not ended:
            return SubscriptionResult(ok=False, message="신청된 알림이 없어요.")
        return SubscriptionResult(ok=True, message="알림을 해지했어요. 더 이상 알림을 보내지 않아요.")

    async def topics_of(self, message: Message) -> list[str]:
        channel = _CHANNEL_OF.get(message.channel)
        if channel is None:
            return []
        try:
            return await self.service.topics_of(channel, message.user_key)
        except SubscriptionError:
            return []
