"""The composition root: builds every service once, for the app and for the CLI."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.context import ContextStore, DbContextStore, HybridContextStore, MemoryContextStore
from bot.dialogue import Dialogue
from bot.ports import DialoguePort
from bot.telegram_keys import DbCallbackStore
from core.clock import Clock, SystemClock
from core.db import Database
from core.settings import Settings
from desk.bot_port import DeskHandoffPort, requester_key
from desk.service import DeskService, IntentFilter
from knowledge_base import load_knowledge_base
from knowledge_base.consent import load_alert_consent
from knowledge_base.schema import CATEGORIES, INDUSTRIES
from nlu.service import build_backend
from nlu.types import NluBackend
from notifier.bot_port import NotifierAnnouncementPort, NotifierSubscriptionPort
from notifier.intents import RequesterKeyRecipients
from notifier.optin import ConfirmationMailer, OptinService
from notifier.runtime import NotifierService
from notifier.subscriptions import SubscriptionService

if TYPE_CHECKING:
    # python-telegram-bot costs about half a second to import: only when a token is configured.
    from bot.telegram_bot import TelegramBot

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    clock: Clock
    db: Database
    desk: DeskService
    subscriptions: SubscriptionService
    subscription_port: NotifierSubscriptionPort
    notifier: NotifierService
    # What the dialogue calls for "상담원 연결" and "신청할게요": consultations and intents in the desk.
    handoff_port: DeskHandoffPort
    optin: OptinService  # e-mail subscriptions wait for the owner's confirmation link
    # The dialogue every channel calls (None only in tests that build Services by hand).
    dialogue: DialoguePort | None = None
    telegram: TelegramBot | None = None
    nlu: NluBackend | None = None  # the dialogue's NLU, closed with the services (Rasa's HTTP client)
    context: ContextStore | None = None  # the dialogue's states; the hybrid store's writer runs with the services

    async def start(self) -> None:
        """Start background work (dialogue state writer, scheduler, delivery workers) the settings ask for."""
        if isinstance(self.context, HybridContextStore):
            await self.context.start()
        await self.notifier.start()
        if self.settings.telegram_bot_token is not None and self.telegram is None:
            try:
                bot = build_telegram(self)
                await bot.start()
            except Exception as exc:
                # Telegram being unreachable must not take the Kakao skill and web chat down;
                # the webhook answers 503 until the service restarts.
                log.error("Telegram bot not started: %s", exc)
            else:
                self.telegram = bot

    async def stop(self) -> None:
        """Stop background work; safe to call twice."""
        await self.notifier.stop()
        if self.telegram is not None:
            await self.telegram.stop()
            self.telegram = None
        # Last: the channels above may still have saved a state while stopping.
        if isinstance(self.context, HybridContextStore):
            await self.context.stop()

    async def close(self) -> None:
        # The CLI closes without start/stop: what its turns left pending is written here.
        if isinstance(self.context, HybridContextStore):
            await self.context.stop()
        aclose = getattr(self.nlu, "aclose", None)
        if aclose is not None:
            await aclose()
        await self.db.dispose()


async def build_services(settings: Settings, clock: Clock | None = None, *, nlu: NluBackend | None = None) -> Services:
    """Everything, built once. `nlu` replaces the configured backend (tests inject a fake)."""
    db = Database(settings)
    await db.create_all()
    clock = clock or SystemClock()
    kb = load_knowledge_base(settings.kb_dir)
    subscriptions = SubscriptionService(db, clock, [*INDUSTRIES, *CATEGORIES])
    desk = DeskService(
        db,
        clock,
        program_exists=lambda program_id: program_id in kb.programs,
        program_name=lambda program_id: kb.programs[program_id].name if program_id in kb.programs else None,
        login_limit_per_min=settings.login_rate_limit_per_min,
    )
    optin = OptinService(db, settings, clock, subscriptions, ConfirmationMailer(settings, load_alert_consent()))
    subscription_port = NotifierSubscriptionPort(subscriptions, optin)
    handoff_port = DeskHandoffPort(desk)
    context: ContextStore
    if settings.dialogue_context_store == "memory":
        context = MemoryContextStore(clock, settings.dialogue_context_ttl_s)
    else:
        stored: DbContextStore | HybridContextStore
        if settings.dialogue_context_store == "db":
            stored = DbContextStore(db, clock, settings.dialogue_context_ttl_s)
        else:
            stored = HybridContextStore(
                db, clock, settings.dialogue_context_ttl_s, flush_s=settings.dialogue_context_flush_s
            )
        await stored.purge_expired()  # states of users gone quiet since the last run
        context = stored
    nlu = nlu or build_backend(settings)
    notifier = NotifierService(
        db,
        settings,
        clock,
        intents=intent_recipients(db, desk),
        program_ids={p.id for p in kb.applicable_programs()},
    )
    dialogue = Dialogue(
        kb,
        nlu,
        context,
        subscriptions=subscription_port,
        handoff=handoff_port,
        clock=clock,
        settings=settings,
        announcements=NotifierAnnouncementPort(notifier.announcements, clock),
    )
    return Services(
        settings=settings,
        clock=clock,
        db=db,
        desk=desk,
        subscriptions=subscriptions,
        subscription_port=subscription_port,
        notifier=notifier,
        handoff_port=handoff_port,
        optin=optin,
        dialogue=dialogue,
        nlu=nlu,
        context=context,
    )


# Intents not yet decided: the company still has to hand in its application.
OPEN_INTENT_STATUSES = ("관심", "신청예정")


def intent_recipients(db: Database, desk: DeskService) -> RequesterKeyRecipients:
    """Companies with an open application intent for a program get its deadline reminders too."""

    async def keys_for_program(program_id: str) -> set[str]:
        page = await desk.list_intents(IntentFilter(program_id=program_id), limit=10_000)
        return {i.requester_key for i in page.items if i.requester_key and i.status in OPEN_INTENT_STATUSES}

    return RequesterKeyRecipients(db, keys_for_program, requester_key)


def build_telegram(services: Services, *, polling: bool = False) -> TelegramBot:
    """The Telegram adapter over the services' dialogue and subscriptions (needs TELEGRAM_BOT_TOKEN)."""
    settings = services.settings
    token = settings.telegram_bot_token
    if token is None:
        raise RuntimeError("TELEGRAM_BOT_TOKEN is not set")
    if services.dialogue is None:
        raise RuntimeError("no dialogue to answer Telegram messages")
    from bot.telegram_bot import TelegramBot

    return TelegramBot.build(
        token=token.get_secret_value(),
        base_url=services.settings.telegram_base_url,
        dialogue=services.dialogue,
        subscriptions=services.subscription_port,
        topics=services.subscription_port.known_topics,
        store=DbCallbackStore(services.db, services.clock),
        polling=polling,
        consent_text=load_alert_consent().consent(settings.quiet_hours_start, settings.quiet_hours_end),
    )
