# The dialogue fixtures (fixture KB, keyword NLU, fixed clock) are shared with the bot tests.
from tests.bot.conftest import clock, fixture_kb, keyword_nlu
from tests.fakes.smtp import smtp

__all__ = ["clock", "fixture_kb", "keyword_nlu", "smtp"]
