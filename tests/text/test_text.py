"""The text primitives the scorer and the guard share."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from corrigible.text import KeyFact, key_facts_from, normalise, words


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=string.printable, max_size=200))
def test_the_ascii_fast_path_reads_like_the_unicode_path(text: str) -> None:
    """ASCII text skips NFKC and the look-alike table; it must come out the same."""
    from corrigible.text.words import _TABLE, _fold, raw_words

    assert raw_words(text) == _fold(text).encode("utf-8").translate(_TABLE).split()


def test_numbers_in_words_and_look_alikes_normalise_alike() -> None:
    assert normalise("Forty-eight MILLION") == normalise("48 million")
    assert words("Ηx-7") == words("hx 7")  # a Greek capital eta that looks like H


def test_a_key_fact_is_found_in_other_words_and_located_for_quoting() -> None:
    fact = KeyFact.of(["48 million", "$48m"], 2)
    text = "The bid came in at forty-eight million, as agreed."
    span = fact.search(text)
    assert span is not None
    assert "forty" in text[span[0] : span[1]].lower() or "48" in text[span[0] : span[1]]
    assert fact.search("The bid came in at 49 million.") is None


def test_key_facts_from_data_skips_what_has_no_words() -> None:
    facts = key_facts_from(["HX-7", {"any": ["lockstep", "lock step"], "weight": 2}, "  ", 3])
    assert [(f.label, f.weight) for f in facts] == [("HX-7", 1), ("lockstep", 2)]
