"""The Telegram adapter: a python-telegram-bot `Application` whose handlers feed the dialogue.

Webhook mode (the default inside the web service) builds the application without an updater;
the router hands each verified update to `TelegramBot.process`. Polling mode (`gopa telegram
poll`) keeps PTB's updater, which deletes any webhook before it polls.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.ports import DialoguePort, SubscriptionPort
from bot.render.telegram import (
    KEY_PREFIX,
    MAX_CALLBACK_BYTES,
    CallbackKeys,
    TelegramMessage,
    render_telegram,
)
from bot.reply import Message
from bot.telegram_keys import CallbackPayload
from core.privacy import redact_in_logs
from knowledge_base.consent import load_alert_consent

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "callback_query")
SUBSCRIBE_PREFIX = "sub:"
AGREE_PREFIX = "subok:"  # '동의하고 구독' under the consent text: the tap that is consent
DECLINE_DATA = "subno"
UNSUBSCRIBE_DATA = "unsub"

HELP_TEXT = (
    "김포 기업지원사업 안내 챗봇입니다.\n"
    "궁금한 지원사업을 편하게 물어보세요. 예: 스마트공장 지원 조건이 뭐예요?\n\n"
    "/subscribe 공고 알림 받기 (분야 선택)\n"
    "/topics 내 알림 분야 보기\n"
    "/unsubscribe 알림 그만 받기\n"
    "/help 도움말"
)
SUBSCRIBE_PROMPT = (
    "알림을 받을 분야를 골라 주세요. 처음 구독하실 때는 고르신 뒤 수신 동의 내용을 보여 드리고, "
    "'동의하고 구독'을 누르셔야 구독됩니다."
)
DECLINED = "동의하지 않으셔서 알림을 신청하지 않았어요."
SUBSCRIPTION_CLOSED = "지금은 알림 구독을 받을 수 없습니다."
SUBSCRIBE_FAILED = "구독하지 못했습니다. 잠시 후 다시 시도해 주세요."
NO_SUBSCRIPTION = "아직 구독 중인 알림 분야가 없습니다. /subscribe 로 구독할 수 있어요."
EXPIRED_BUTTON = "버튼이 만료되었어요. 질문을 다시 입력해 주세요."
NOT_TEXT = "글로 물어봐 주세요. 예: 스마트공장 지원 조건이 뭐예요?"
# The menu Telegram shows beside the input field.
COMMANDS = (
    BotCommand("start", "시작하기"),
    BotCommand("help", "도움말"),
    BotCommand("subscribe", "공고 알림 받기"),
    BotCommand("topics", "내 알림 분야 보기"),
    BotCommand("unsubscribe", "알림 그만 받기"),
)
FAILURE_TEXT = "죄송합니다. 잠시 문제가 생겼어요. 잠시 후 다시 시도해 주세요."


class CallbackStore(Protocol):
    """Where button payloads are shared between processes (bot.telegram_keys.DbCallbackStore)."""

    async def save(self, payloads: dict[str, CallbackPayload]) -> None: ...

    async def load(self, key: str) -> CallbackPayload | None: ...


class TelegramBot:
    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        dialogue: DialoguePort,
        subscriptions: SubscriptionPort | None,
        topics: Sequence[str],
        keys: CallbackKeys | None = None,
        store: CallbackStore | None = None,
        consent_text: str = "",
    ) -> None:
        self.application = application
        self._dialogue = dialogue
        self._subscriptions = subscriptions
        self._store = store
        # Topics whose callback data would pass Telegram's 64-byte limit cannot be offered as buttons.
        self._topics = [t for t in topics if len((AGREE_PREFIX + t).encode()) <= MAX_CALLBACK_BYTES]
        # The text every channel shows before a first subscription (knowledge_base/data/alert_consent.yaml).
        self._consent = load_alert_consent()
        if subscriptions is not None and not consent_text:
            raise ValueError("a Telegram bot that subscribes chats needs the consent text to show")
        self._consent_text = consent_text
        self._keys = keys or CallbackKeys()
        self._started = False
        application.add_handler(CommandHandler("start", self._on_help))
        application.add_handler(CommandHandler("help", self._on_help))
        application.add_handler(CommandHandler("subscribe", self._on_subscribe))
        application.add_handler(CommandHandler("topics", self._on_topics))
        application.add_handler(CommandHandler("unsubscribe", self._on_unsubscribe))
        application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, self._on_text))
        # Only in private chats: in a group, joins and photos are not meant for the bot.
        not_text = filters.ChatType.PRIVATE & ~filters.TEXT & ~filters.COMMAND
        application.add_handler(MessageHandler(not_text, self._on_not_text))
        application.add_handler(CallbackQueryHandler(self._on_callback))
        application.add_error_handler(self._on_error)

    @classmethod
    def build(
        cls,
        *,
        token: str,
        base_url: str,
        dialogue: DialoguePort,
        subscriptions: SubscriptionPort | None,
        topics: Sequence[str],
        store: CallbackStore | None = None,
        polling: bool = False,
        consent_text: str = "",
    ) -> TelegramBot:
        # Every Bot API URL contains the token, and httpx logs each request URL.
        redact_in_logs(token, "<telegram-bot-token>", ("httpx", "telegram"))
        builder = (
            Application.builder()
            .token(token)
            .base_url(base_url)
            .rate_limiter(AIORateLimiter(max_retries=2))
            .job_queue(None)  # nothing is scheduled here; the notifier owns scheduling
        )
        if not polling:
            builder = builder.updater(None)
        return cls(builder.build(), dialogue, subscriptions, topics, store=store, consent_text=consent_text)

    async def start(self) -> None:
        """Initialise (getMe) and start the application; webhook updates may come in after this."""
        await self.application.initialize()
        await self.application.start()
        self._started = True

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        await self.application.stop()
        await self.application.shutdown()

    async def poll(self, stop: asyncio.Event) -> None:
        """Long-poll getUpdates until `stop` is set (local use; needs a bot built with polling=True)."""
        updater = self.application.updater
        if updater is None:
            raise RuntimeError("this bot was built for webhooks; build it with polling=True")
        async with self.application:
            # Telegram refuses getUpdates while a webhook is set.
            await self.application.bot.delete_webhook()
            await self.application.bot.set_my_commands(COMMANDS)
            await updater.start_polling(allowed_updates=list(ALLOWED_UPDATES))
            await self.application.start()
            try:
                await stop.wait()
            finally:
                await updater.stop()
                await self.application.stop()

    @property
    def ready(self) -> bool:
        return self._started

    async def process(self, data: dict[str, Any]) -> Update | None:
        """Feed one webhook update (already authenticated) to the handlers; None if it is not an update."""
        update = Update.de_json(data, self.application.bot)
        if update is None:
            return None
        await self.application.process_update(update)
        return update

    # --- handlers -------------------------------------------------------------------

    async def _send(self, chat_id: int, messages: list[TelegramMessage]) -> None:
        for m in messages:
            await self.application.bot.send_message(
                chat_id, m.text, parse_mode=ParseMode.HTML, reply_markup=m.reply_markup
            )

    async def _answer(self, chat_id: int, text: str, extra: dict[str, str] | None = None) -> None:
        reply = await self._dialogue.respond(Message(channel="telegram", user_key=str(chat_id), text=text, extra=extra))
        messages = render_telegram(reply, self._keys)
        if self._store is not None:
            # Saved before sending: a button must be resolvable by any process once it is shown.
            await self._store.save(self._keys.take_unsaved())
        await self._send(chat_id, messages)

    async def _on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat is None or update.effective_message is None or not update.effective_message.text:
            return
        await self._answer(update.effective_chat.id, update.effective_message.text)

    async def _on_not_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat is not None:
            await self._send(update.effective_chat.id, [TelegramMessage(html.escape(NOT_TEXT))])

    async def _on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat is not None:
            await self._send(update.effective_chat.id, [TelegramMessage(html.escape(HELP_TEXT))])

    def _message(self, chat_id: int, text: str) -> Message:
        return Message(channel="telegram", user_key=str(chat_id), text=text)

    async def _on_subscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat is None:
            return
        if self._subscriptions is None or not self._topics:
            await self._send(update.effective_chat.id, [TelegramMessage(html.escape(SUBSCRIPTION_CLOSED))])
            return
        buttons = [InlineKeyboardButton(t, callback_data=SUBSCRIBE_PREFIX + t) for t in self._topics]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        await self._send(
            update.effective_chat.id, [TelegramMessage(html.escape(SUBSCRIBE_PROMPT), InlineKeyboardMarkup(rows))]
        )

    async def _on_topics(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat is None:
            return
        chat_id = update.effective_chat.id
        topics = await self._subscriptions.topics_of(self._message(chat_id, "/topics")) if self._subscriptions else []
        if not topics:
            text = NO_SUBSCRIPTION
            markup = None
        else:
            text = "구독 중인 알림 분야: " + ", ".join(topics) + "\n해지하려면 /unsubscribe"
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("알림 해지", callback_data=UNSUBSCRIBE_DATA)]])
        await self._send(chat_id, [TelegramMessage(html.escape(text), markup)])

    async def _on_unsubscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat is not None:
            await self._unsubscribe(update.effective_chat.id)

    async def _unsubscribe(self, chat_id: int) -> None:
        if self._subscriptions is None:
            await self._send(chat_id, [TelegramMessage(html.escape(NO_SUBSCRIPTION))])
            return
        result = await self._subscriptions.unsubscribe(self._message(chat_id, "/unsubscribe"))
        text = result.message or ("알림을 해지했습니다." if result.ok else NO_SUBSCRIPTION)
        await self._send(chat_id, [TelegramMessage(html.escape(text))])

    async def _subscribe(self, chat_id: int, topic: str, *, agreed: bool) -> None:
        if self._subscriptions is None or topic not in self._topics:
            await self._send(chat_id, [TelegramMessage(html.escape(EXPIRED_BUTTON))])
            return
        message = self._message(chat_id, f"/subscribe {topic}")
        first = not await self._subscriptions.topics_of(message)
        if first and not agreed:
            text = self._consent.ask([topic], self._consent_text)
            markup = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(self._consent.agree_label, callback_data=AGREE_PREFIX + topic),
                        InlineKeyboardButton("취소", callback_data=DECLINE_DATA),
                    ]
                ]
            )
            await self._send(chat_id, [TelegramMessage(html.escape(text), markup)])
            return
        # The service adds the topic to the ones the chat already has (whose consent is on record).
        consent_text = self._consent_text if first else None
        result = await self._subscriptions.subscribe(message, [topic], consent=True, consent_text=consent_text)
        text = result.message or ("알림을 신청했어요." if result.ok else SUBSCRIBE_FAILED)
        await self._send(chat_id, [TelegramMessage(html.escape(text))])

    async def _on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        chat = update.effective_chat
        data = query.data or ""
        if chat is None:
            await query.answer()
            return
        if data.startswith(SUBSCRIBE_PREFIX):
            await query.answer()
            await self._subscribe(chat.id, data[len(SUBSCRIBE_PREFIX) :], agreed=False)
            return
        if data.startswith(AGREE_PREFIX):
            await query.answer()
            await self._subscribe(chat.id, data[len(AGREE_PREFIX) :], agreed=True)
            return
        if data == DECLINE_DATA:
            await query.answer()
            await self._send(chat.id, [TelegramMessage(html.escape(DECLINED))])
            return
        if data == UNSUBSCRIBE_DATA:
            await query.answer()
            await self._unsubscribe(chat.id)
            return
        payload = self._keys.resolve(data)
        if payload is None and self._store is not None and data.startswith(KEY_PREFIX):
            payload = await self._store.load(data)
            if payload is not None:
                self._keys.remember(data, payload)
        if payload is None:
            await query.answer(EXPIRED_BUTTON)
            return
        await query.answer()
        await self._answer(chat.id, payload.message, payload.extra)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram update failed: %s", context.error, exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            try:
                await self.application.bot.send_message(update.effective_chat.id, FAILURE_TEXT)
            except Exception as exc:  # the apology is best effort; the original error is logged above
                log.warning("could not tell the chat about the failure: %s", exc)


async def set_webhook(*, token: str, base_url: str, url: str, secret: str) -> bool:
    """Point Telegram at our webhook; Telegram then sends `secret` in every update's header."""
    redact_in_logs(token, "<telegram-bot-token>", ("httpx", "telegram"))
    async with Bot(token, base_url=base_url) as bot:
        if not await bot.set_webhook(url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES)):
            return False
        return await bot.set_my_commands(COMMANDS)
