"""Imported once by the worker pool's forkserver: loads the spaCy pipeline there, so every
worker forked from it starts with the pipeline in shared, copy-on-write memory instead of
loading its own (about 2.5 s of CPU and 250 MB per worker on the development machine).

The pipeline loaded is the one the default settings name (``JRTEXT_*`` environment); a run
with other settings misses this cache and its workers load their own, as without it.
"""

from __future__ import annotations

import logging

from jrtext import cluster, stream
from jrtext.kb import load_kb
from jrtext.settings import get_settings

try:
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
