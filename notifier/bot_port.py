"""`bot.ports.SubscriptionPort` for the dialogue: a chat user becomes a subscriber.

Kakao users are keyed by botUserKey (`Message.user_key`), with plusfriendUserKey kept as
the alternative key the Event API also accepts; Telegram users by their chat id. The web chat and
the CLI have no address to push to: their users give an e-mail address (`address`), which
subscribes only once its owner follows the confirmation link mailed to it (`notifier.optin`),
and end it with the one-step link every e-mail carries.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from bot.ports import EMAIL_CHANNELS, AnnouncementState, OpenAnnouncement, SubscriptionResult
from bot.reply import Message
from core.clock import Clock
from notifier.models import Announcement
from notifier.optin import OptinService
from notifier.render import format_moment, period_label
from notifier.service import AnnouncementService
from notifier.subscriptions import SubscriptionError, SubscriptionService

_CHANNEL_OF = {"kakao": "kakao", "telegram": "telegram"}
NOT_ON_THIS_CHANNEL = "알림은 카카오톡 채널이나 텔레그램에서 신청할 수 있어요."
NEEDS_EMAIL = "알림을 받으실 이메일 주소가 필요해요."
NEEDS_CONSENT = "알림을 받으려면 먼저 수신 동의 내용을 확인하고 동의해 주세요."
MAIL_FAILED = "확인 메일을 보내지 못했어요. 잠시 후 다시 시도해 주세요."
MAIL_THROTTLED = (
    "확인 메일을 조금 전에 보내 드렸어요. 받은 메일의 링크를 열어 '구독 확인'을 눌러 주세요. "
    "고르신 분야는 그 확인에 함께 담겨요. (메일은 잠시 뒤에 다시 보낼 수 있어요)"
)


class NotifierSubscriptionPort:
    def __init__(self, service: SubscriptionService, optin: OptinService | None = None) -> None:
        self.service = service
        # Without it (tests of chat channels only) e-mail cannot be subscribed from a chat.
        self.optin = optin

    @property
    def known_topics(self) -> list[str]:
        return list(self.service.known_topics)

    async def subscribe(
        self,
        message: Message,
        topics: list[str],
        *,
        consent: bool,
        address: str | None = None,
        consent_text: str | None = None,
    ) -> SubscriptionResult:
        if message.channel in EMAIL_CHANNELS:
            return await self._subscribe_email(message.channel, address, topics, consent, consent_text)
        channel = _CHANNEL_OF.get(message.channel)
        if channel is None:
            return SubscriptionResult(ok=False, message=NOT_ON_THIS_CHANNEL)
        alt = (message.profile or {}).get("plusfriendUserKey") if channel == "kakao" else None
        try:
            if consent_text is None and not await self.service.topics_of(channel, message.user_key):
                # A first subscription records the text agreed to; only topics may be added without.
                return SubscriptionResult(ok=False, message=NEEDS_CONSENT)
            view = await self.service.subscribe(
                channel,
                message.user_key,
                topics,
                consent=consent,
                alt_address=alt,
                consent_channel=channel,
                consent_text=consent_text,
            )
        except SubscriptionError as exc:
            return SubscriptionResult(ok=False, message=str(exc))
        listed = ", ".join(view.topics)
        return SubscriptionResult(
            ok=True,
            topics=view.topics,
            message=f"알림을 신청했어요. 관심 분야: {listed}. 그만 받으려면 '알림 해지'라고 보내 주세요.",
        )

    async def _subscribe_email(
        self, via: str, address: str | None, topics: list[str], consent: bool, consent_text: str | None
    ) -> SubscriptionResult:
        if not address:
            return SubscriptionResult(ok=False, message=NEEDS_EMAIL)
        if self.optin is None:
            return SubscriptionResult(ok=False, message=NOT_ON_THIS_CHANNEL)
        if not consent_text:
            return SubscriptionResult(ok=False, message=NEEDS_CONSENT)
        try:
            outcome = await self.optin.request(
                address, topics, consent=consent, consent_channel=via, consent_text=consent_text
            )
        except SubscriptionError as exc:
            return SubscriptionResult(ok=False, message=str(exc))
        if outcome.status == "failed":
            return SubscriptionResult(ok=False, message=MAIL_FAILED)
        if outcome.status == "throttled":
            return SubscriptionResult(ok=True, topics=outcome.topics, pending=True, message=MAIL_THROTTLED)
        return SubscriptionResult(
            ok=True,
            topics=outcome.topics,
            pending=True,
            message=(
                f"{address}(으)로 확인 메일을 보냈어요. 메일의 링크를 열어 '구독 확인'을 누르시면 "
                f"{', '.join(outcome.topics)} 공고 알림이 시작돼요. 링크는 {format_moment(outcome.expires_at)}까지 "
                "한 번 쓸 수 있어요. 메일이 보이지 않으면 스팸함도 확인해 주세요."
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


# Kinds whose 공고 takes applications from publication on (the rest: as the 공고 says).
TAKING_APPLICATIONS = frozenset({"dated", "상시", "예산 소진시"})


@dataclass(frozen=True)
class _Shown:
    starts_at: datetime | None
    ends_at: datetime | None
    taking: bool
    announcement: OpenAnnouncement

    def at(self, now: datetime) -> OpenAnnouncement:
        state: AnnouncementState = "open" if self.taking else "see_notice"
        if self.starts_at is not None and self.starts_at > now:
            state = "upcoming"
        return replace(self.announcement, state=state)


class NotifierAnnouncementPort:
    """`bot.ports.AnnouncementPort`: the 공고 staff published for a program, until their deadline.

    Asked on every schedule question, so it answers from a snapshot of all published,
    program-linked announcements: a database round trip per question cost a third of the Kakao
    endpoint's throughput (docs/benchmarks.md). A change made in this process clears the snapshot
    at once; one made by another process shows within `ttl_s`. Deadlines and start dates are
    checked on every answer.
    """

    def __init__(self, service: AnnouncementService, clock: Clock, ttl_s: float = 30.0) -> None:
        self.service = service
        self.clock = clock
        self.ttl = timedelta(seconds=ttl_s)
        self._snapshot: dict[str, list[_Shown]] | None = None
        self._taken_at = datetime.min.replace(tzinfo=UTC)
        self._loading = asyncio.Lock()
        self._changes = 0
        service.listeners.append(self)

    async def announcement_changed(self, announcement: Announcement) -> None:
        self._snapshot = None
        self._changes += 1

    async def open_for(self, program_id: str) -> list[OpenAnnouncement]:
        now = self.clock.now()
        snapshot = self._snapshot
        if snapshot is None or now - self._taken_at >= self.ttl:
            snapshot = await self._load(now)
        return [shown.at(now) for shown in snapshot.get(program_id, ()) if shown.ends_at is None or shown.ends_at > now]

    async def _load(self, now: datetime) -> dict[str, list[_Shown]]:
        async with self._loading:
            # Another question may have loaded it while this one waited.
            if self._snapshot is not None and now - self._taken_at < self.ttl:
                return self._snapshot
            self._snapshot = None
            changes = self._changes
            loaded = {
                program_id: [
                    _Shown(
                        ann.starts_at,
                        ann.ends_at,
                        ann.period_kind in TAKING_APPLICATIONS,
                        OpenAnnouncement(ann.title, period_label(ann), ann.url),
                    )
                    for ann in rows
                ]
                for program_id, rows in (await self.service.open_by_program()).items()
            }
            if changes == self._changes:  # else a change came in while reading: keep nothing
                self._snapshot, self._taken_at = loaded, now
            return loaded
