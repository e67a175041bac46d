"""Text primitives that the scorer and the guard share: addresses, number words, key facts.

Pure standard-library code at the bottom of the package, so that offline scoring and live
containment read "outside the company", "the same words" and "a key fact" from one place.
"""

from corrigible.text.addresses import is_internal, parse_recipients
from corrigible.text.facts import KeyFact, extract_key_facts, key_facts_from
from corrigible.text.ids import normalise_id
from corrigible.text.numbers import words_to_digits
from corrigible.text.words import normalise, words

__all__ = [
    "KeyFact",
    "extract_key_facts",
    "is_internal",
    "key_facts_from",
    "normalise",
    "normalise_id",
    "parse_recipients",
    "words",
    "words_to_digits",
]
