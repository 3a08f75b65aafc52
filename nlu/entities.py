"""Programs and industries found in an utterance by dictionary, with a fuzzy net for typos.

Names and text meet in compact form (no spaces, no dots), so "시험 분석 비" finds 시험분석비.
Exact names win, longest first; overlapping shorter names inside a longer match are dropped
("전기차 진단컨설팅" is the consulting program, not also the EV parts program). When a type
has no exact hit, a typo-tolerant pass compares Hangul at the jamo level (콤프레쌰 is one
jamo away from 콤프레샤) against names long enough that one slip cannot turn ordinary words
into a program.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from rapidfuzz import fuzz

from core.text import COMPACT_DROP, normalize_utterance
from nlu.types import Entity

_HANGUL_BASE, _HANGUL_LAST = 0xAC00, 0xD7A3
_LEADS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_VOWELS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_TAILS = ("", *"ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ")

# The fuzzy pass looks for a name with one slip: at most one jamo wrong, added or missing
# (a similarity of at least 1 - 1/len on rapidfuzz's indel scale). It only tries names of
# FUZZY_MIN_SYLLABLES or more, once generic tails are cut off (인증 지원사업 -> 인증, too
# short), so everyday words cannot pass for a program.
FUZZY_MIN_SYLLABLES = 4
GENERIC_TAILS = ("지원사업", "사업", "산업", "지원", "구축", "교체", "조성")
# Longer texts are not fuzzy-searched: the exact pass still runs, and a wall of text is no
# place to guess at typos.
FUZZY_MAX_CHARS = 120


def to_jamo(text: str) -> tuple[str, list[int]]:
    """Hangul syllables split into jamo, and for each jamo the index of its syllable."""
    out: list[str] = []
    owner: list[int] = []
    for i, ch in enumerate(text):
        code = ord(ch)
        if _HANGUL_BASE <= code <= _HANGUL_LAST:
            index = code - _HANGUL_BASE
            parts = _LEADS[index // 588] + _VOWELS[(index % 588) // 28] + _TAILS[index % 28]
        else:
            parts = ch
        out.append(parts)
        owner.extend([i] * len(parts))
    return "".join(out), owner


@dataclass(frozen=True)
class _FuzzyName:
    value: str
    jamo: str
    syllables: frozenset[str]
    cutoff: float


@dataclass(frozen=True)
class _Names:
    """One entity type's dictionary: compact name -> value, ready for both passes."""

    by_name: dict[str, str]
    exact: re.Pattern[str] | None
    fuzzy: list[_FuzzyName]
    by_syllable: dict[str, list[int]]  # syllable -> indexes into `fuzzy`


def _core(name: str) -> str:
    for tail in GENERIC_TAILS:
        if name.endswith(tail) and len(name) > len(tail):
            return _core(name[: -len(tail)])
    return name


def _compile(names: Mapping[str, tuple[str, ...]]) -> _Names:
    by_name: dict[str, str] = {}
    for value, texts in names.items():
        for text in texts:
            key = COMPACT_DROP.sub("", normalize_utterance(text))
            if key:
                by_name.setdefault(key, value)
    ordered = sorted(by_name, key=len, reverse=True)
    # A lookahead finds, at every position, the longest name starting there (overlaps too).
    exact = re.compile("(?=(" + "|".join(map(re.escape, ordered)) + "))") if ordered else None
    cores = {_core(name): value for name, value in by_name.items()}
    fuzzy: list[_FuzzyName] = []
    by_syllable: dict[str, list[int]] = {}
    for core, value in sorted(cores.items()):
        if len(core) < FUZZY_MIN_SYLLABLES:
            continue
        jamo = to_jamo(core)[0]
        for syllable in set(core):
            by_syllable.setdefault(syllable, []).append(len(fuzzy))
        fuzzy.append(_FuzzyName(value, jamo, frozenset(core), 100.0 * (1 - 1 / len(jamo)) - 1e-6))
    return _Names(by_name, exact, fuzzy, by_syllable)


class EntityExtractor:
    """Finds dictionary entities (entity type -> value -> names) in utterances."""

    def __init__(self, dictionary: Mapping[str, Mapping[str, tuple[str, ...]]]) -> None:
        self._types = {entity: _compile(names) for entity, names in dictionary.items()}

    def extract(self, text: str) -> tuple[Entity, ...]:
        """Entities in `text` (raw or already normalised), in order of appearance."""
        return tuple(entity for _, _, entity in self.find(normalize_utterance(text)))

    def find(self, normalized: str) -> list[tuple[int, int, Entity]]:
        """(start, end, entity) in a normalised text, ordered by start; spans of one type
        never overlap."""
        kept = [i for i, ch in enumerate(normalized) if not COMPACT_DROP.match(ch)]
        compact = "".join(normalized[i] for i in kept)
        if not compact:
            return []
        found: list[tuple[int, int, Entity]] = []
        for entity, names in self._types.items():
            spans = self._exact(names, compact)
            if not spans and len(compact) <= FUZZY_MAX_CHARS:
                spans = self._fuzzy(names, compact)
            for start, end, value, score in spans:
                first, last = kept[start], kept[end - 1] + 1
                found.append(
                    (first, last, Entity(entity=entity, value=value, text=normalized[first:last], score=score))
                )
        found.sort(key=lambda item: item[0])
        return found

    @staticmethod
    def _exact(names: _Names, compact: str) -> list[tuple[int, int, str, float]]:
        if names.exact is None:
            return []
        candidates = [(m.start(), m.start() + len(m.group(1)), m.group(1)) for m in names.exact.finditer(compact)]
        candidates.sort(key=lambda c: (c[0] - c[1], c[0]))  # longest first, then leftmost
        taken: list[tuple[int, int]] = []
        spans: list[tuple[int, int, str, float]] = []
        seen: set[str] = set()
        for start, end, name in candidates:
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            value = names.by_name[name]
            if value not in seen:
                seen.add(value)
                spans.append((start, end, value, 1.0))
        return spans

    @staticmethod
    def _fuzzy(names: _Names, compact: str) -> list[tuple[int, int, str, float]]:
        # Only names sharing all their syllables but one with the text are worth comparing.
        shared: dict[int, int] = {}
        for syllable in set(compact):
            for index in names.by_syllable.get(syllable, ()):
                shared[index] = shared.get(index, 0) + 1
        candidates = [i for i, count in shared.items() if count >= len(names.fuzzy[i].syllables) - 1]
        if not candidates:
            return []
        jamo, owner = to_jamo(compact)
        best: tuple[float, int, int, str] | None = None
        for index in candidates:
            name = names.fuzzy[index]
            if len(name.jamo) > len(jamo) + 1:
                continue
            alignment = fuzz.partial_ratio_alignment(name.jamo, jamo, score_cutoff=name.cutoff)
            if alignment is None or (best is not None and alignment.score <= best[0]):
                continue
            start, end = owner[alignment.dest_start], owner[alignment.dest_end - 1] + 1
            best = (alignment.score, start, end, name.value)
        if best is None:
            return []
        score, start, end, value = best
        return [(start, end, value, round(score / 100, 3))]
