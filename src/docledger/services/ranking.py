"""Text relevance computed the same way on every dialect.

The database's full-text index (FTS5 / tsvector) finds the candidates; this module ranks
them with BM25 over the candidates' own statistics, so SQLite and PostgreSQL order the same
store the same way (their built-in rankers, bm25() and ts_rank, do not agree). Query words are
lowercased, stripped of accents, freed of common English function words, and reduced by a
light suffix rule to a stem that matches as a prefix ("closing" finds "close" and "closed"),
in the index (``"clos"*`` / ``clos:*``) and here alike.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence

TOKEN = re.compile(r"\w+", re.UNICODE)
K1 = 1.2
B = 0.75
#: Stems shorter than this match whole words only (a 3-letter prefix matches too much).
MIN_PREFIX = 4
MAX_TERMS = 32
_SUFFIXES = ("ations", "ation", "ments", "ment", "ings", "ing", "ions", "ion", "ers", "ies")
_SUFFIXES_SHORT = ("ed", "es", "er", "ly", "s", "e")
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
    ]
)


def fold(text: str) -> str:
    """Lowercase without accents (what FTS5's default tokenizer does to both sides)."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def stem(word: str) -> str:
    for suffix in _SUFFIXES + _SUFFIXES_SHORT:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_PREFIX:
            return word[: -len(suffix)]
    return word


def terms(query: str) -> list[tuple[str, bool]]:
    """The query's search terms as (text, is_prefix), in order, without repeats; stop words
    are dropped unless the query has nothing else."""
    words = [w for w in TOKEN.findall(query.lower()) if w]
    content = [w for w in words if w not in STOPWORDS] or words
    out: list[tuple[str, bool]] = []
    seen: set[str] = set()
    for word in content:
        base = stem(word)
        term = (base, True) if len(base) >= MIN_PREFIX and base.isalpha() else (word, False)
        if term[0] not in seen:
            seen.add(term[0])
            out.append(term)
    return out[:MAX_TERMS]


#: The collection size BM25's idf is taken against: a constant, so scores never depend on
#: anything a dialect counts differently (only the ranking matters, and it depends on the
#: document frequencies, which both dialects agree on).
N_REF = 100_000.0


def idf(df: int) -> float:
    return math.log(1.0 + (N_REF - df + 0.5) / (df + 0.5))


def bm25(
    query: Sequence[tuple[str, bool]],
    texts: Sequence[str],
    df: Sequence[int] | None = None,
) -> list[float]:
    """BM25 of each text for the query terms; document frequencies ``df`` as counted in the
    index (else within ``texts``), the average length taken over ``texts``."""
    folded = [(fold(t), p) for t, p in query]
    n = len(texts)
    if n == 0 or not folded:
        return [0.0] * n
    # one C-level regex pass per text for all terms: a term matches whole words, a prefix
    # term the start of words (as ``"clos"*`` / ``clos:*`` do in the index); a word that two
    # terms would match counts for the first of them
    pattern = re.compile(
        r"\b(?:"
        + "|".join(
            f"({re.escape(term)})" + (r"\w*" if prefix else r"\b") for term, prefix in folded
        )
        + ")",
        re.UNICODE,
    )
    lengths: list[int] = []
    counts: list[list[int]] = []
    width = len(folded)
    for body in texts:
        plain = fold(body or "")
        lengths.append(plain.count(" ") + plain.count("\n") + 1)
        row = [0] * width
        for match in pattern.finditer(plain):
            row[(match.lastindex or 1) - 1] += 1
        counts.append(row)
    avg = sum(lengths) / n or 1.0
    if df is None:
        df = [sum(1 for row in counts if row[j]) for j in range(len(folded))]
    weights = [idf(d) for d in df]
    scores: list[float] = []
    for length, row in zip(lengths, counts, strict=True):
        norm = K1 * (1.0 - B + B * length / avg)
        scores.append(
            sum(weights[j] * tf * (K1 + 1.0) / (tf + norm) for j, tf in enumerate(row) if tf)
        )
    return scores
