"""Imported once by the worker pool's forkserver: loads the spaCy pipeline and the language
identifier there, so every worker forked from it starts with them in shared, copy-on-write
memory instead of loading its own (about 2.5 s and 1.7 s of CPU per worker on the
development machine, at the start of a run, when nothing else can go on).

The pipeline loaded is the one the default settings name (``JRTEXT_*`` environment); a run
with other settings misses this cache and its workers load their own, as without it.
"""

from __future__ import annotations

import logging

from jrtext import cluster, language, stream
from jrtext.kb import load_kb
from jrtext.settings import get_settings

try:
    language.detect("x" * language.MIN_CHARS_TO_JUDGE)  # loads the identifier's model
    _settings = get_settings()
    cluster.worker_pipeline(
        _settings.spacy_model,
        _settings.max_chars,
        str(_settings.kb_folder),
        str(_settings.stance_cues),
        stream.analysis_key(_settings, load_kb(_settings.kb_folder).fingerprint),
    )
except Exception as exc:  # an optimisation only: a worker that needs it reports the error
    logging.getLogger(__name__).debug("spaCy not preloaded in the forkserver: %s", exc)
