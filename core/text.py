"""Text normalisation applied to every utterance and every name before matching."""

from __future__ import annotations

import re
import unicodedata

# Middle dots people and portals use between words: · (U+00B7), ㆍ (U+318D), ・ (U+30FB),
# ‧ (U+2027), ･ (U+FF65), • (U+2022), ∙ (U+2219), and ᆞ (U+119E), which NFKC makes of ㆍ.
# They all mean the same separator, so they are unified before any other folding.
DOT_CHARS = "\u00b7\u318d\u119e\u30fb\u2027\uff65\u2022\u2219"
_DOTS = re.compile(f"[{DOT_CHARS}]")
_SPACES = re.compile(r"[\s\u00a0\u200b\u3000\ufeff]+")
_ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060\ufeff]")
# Anything that is neither a letter, a number nor ordinary punctuation: emoji, symbols.
_SYMBOLS = re.compile(r"[^\w\s.,?!~%()\[\]/:+\-·&'\"]", re.UNICODE)

# What `compact` drops: spaces and the separators people put inside names (스마트·공장, 스마트-공장).
COMPACT_DROP = re.compile(r"[\s·.\-_/]")

MAX_UTTERANCE_CHARS = 1000


def nfc(text: str) -> str:
    """Canonical composition: what we store and count (Korean lengths are in NFC characters)."""
    return unicodedata.normalize("NFC", text)


def clean_display(text: str) -> str:
    """NFC, one kind of middle dot, single spaces: text fit to store and show."""
    text = _ZERO_WIDTH.sub("", nfc(text))
    text = _DOTS.sub("·", text)
    return _SPACES.sub(" ", text).strip()


def normalize_utterance(text: str | None, limit: int = MAX_UTTERANCE_CHARS) -> str:
    """What the NLU sees: NFKC-folded (full-width forms, compatibility jamo), dots unified,
    emoji and symbols dropped, spaces collapsed, lower-cased Latin, and cut at `limit`."""
    if not text:
        return ""
    text = _DOTS.sub("·", text[: limit * 4])
    text = unicodedata.normalize("NFKC", text)
    text = _ZERO_WIDTH.sub("", text)
    text = _SYMBOLS.sub(" ", text)
    text = _SPACES.sub(" ", text).strip().lower()
    return text[:limit]


def compact(text: str) -> str:
    """Matching key with no spaces and no dots: '스마트 공장' and '스마트공장' meet here."""
    return COMPACT_DROP.sub("", normalize_utterance(text))


def char_length(text: str) -> int:
    """Length in characters after NFC, the way Korean limits are counted."""
    return len(nfc(text))


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, the way Telegram counts its message limits."""
    return len(text.encode("utf-16-le")) // 2


def split_utf16(text: str, limit: int = 4096) -> list[str]:
    """Cut plain text into pieces of at most `limit` UTF-16 units, preferring paragraph, line and
    word boundaries. Escape markup after splitting, so no piece ends inside an entity or a tag."""
    if limit < 2:
        raise ValueError("limit must leave room for one surrogate pair")
    pieces: list[str] = []
    rest = text
    while utf16_length(rest) > limit:
        units = 0
        cut = 0
        for ch in rest:
            units += 2 if ord(ch) > 0xFFFF else 1
            if units > limit:
                break
            cut += 1
        window = rest[:cut]
        for separator in ("\n\n", "\n", " "):
            at = window.rfind(separator)
            if at > cut // 2:
                cut = at + len(separator)
                break
        piece = rest[:cut].rstrip()
        if piece:
            pieces.append(piece)
        rest = rest[cut:].lstrip("\n ")
    if rest.strip():
        pieces.append(rest)
    return pieces
