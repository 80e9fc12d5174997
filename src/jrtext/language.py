"""Which language a document is in, so only the ones the models read are analysed.

py3langid (langid.py's model, shipped inside the wheel: nothing is downloaded) on the first
``SAMPLE_CHARS`` characters. A text too short to judge counts as analysable: a caption is
no reason to hold a document back.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

SAMPLE_CHARS = 10_000  # the opening is enough to tell a language; whole speeches are slow
MIN_CHARS_TO_JUDGE = 80  # below this langid's guesses are noise


@dataclass(frozen=True, slots=True)
class Language:
    code: str  # ISO 639-1, or "und" when too short to judge
    probability: float


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect(text: str) -> Language:
    sample = text[:SAMPLE_CHARS]
    if len("".join(sample.split())) < MIN_CHARS_TO_JUDGE:
        return Language("und", 0.0)
    code, probability = _identifier().classify(sample)
    return Language(str(code), round(float(probability), 4))


def is_analysed(language: Language, analysed: list[str], min_probability: float) -> bool:
    """Analyse unless the text is confidently in a language the pipeline does not read."""
    if language.code == "und" or language.code in analysed:
        return True
    return language.probability < min_probability


def write_languages(con, rows: list[tuple[str, Language, bool]]) -> None:
    """(doc_id, language, analysed) rows; call inside the chunk's transaction."""
    if not rows:
        return
    con.executemany("DELETE FROM document_languages WHERE doc_id = ?", [[r[0]] for r in rows])
    con.executemany(
        "INSERT INTO document_languages VALUES (?, ?, ?, ?)",
        [[doc_id, found.code, found.probability, analysed] for doc_id, found, analysed in rows],
    )


def not_analysed_problem(doc, found: Language):
    """The ``problems`` row of a document held back for its language."""
    from jrtext.store import ProblemRow

    return ProblemRow(
        doc.source,
        doc.location,
        "language",
        "not_english",
        f"{doc.location}: the text is in {found.code!r} (p={found.probability:.2f}),"
        " which the models do not read; stored without sentences (JRTEXT_ANALYSED_LANGUAGES)",
    )
