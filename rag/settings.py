"""The one settings object: defaults that need no key and no network, overridable by environment.

``RAG_*`` variables set our own options; ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` are the ecosystem's and
switch answering to an LLM. ``rag config`` prints the effective values with the key masked.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from rag.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
#: The default size cap of an article file or JSONL record, in bytes (2 MB of text).
MAX_ARTICLE_BYTES = 2_000_000


def _bundled(name: str) -> Path:
    """A data folder shipped with the project: inside the wheel, or beside the package in a checkout."""
    inside = PACKAGE_DIR / "_data" / name
    return inside if inside.is_dir() else PACKAGE_DIR.parent / name


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "news-desk-rag"


@dataclass(frozen=True)
class Settings:
    """Every tunable of the pipeline. Field metadata names the environment variable that sets it."""

    data_dir: Path = dataclasses.field(
        default_factory=_default_data_dir,
        metadata={"env": "RAG_DATA_DIR", "help": "embedded Chroma + caches"},
    )
    corpus_dir: Path = dataclasses.field(
        default_factory=lambda: _bundled("corpus"),
        metadata={"env": "RAG_CORPUS", "help": "ingested by `rag ask` when the store is empty"},
    )
    prompts_dir: Path = dataclasses.field(
        default_factory=lambda: _bundled("prompts"), metadata={"env": "RAG_PROMPTS", "help": "prompt files"}
    )
    evals_dir: Path = dataclasses.field(
        default_factory=lambda: _bundled("evals"), metadata={"env": "RAG_EVALS", "help": "eval suites and baselines"}
    )
    briefs_dir: Path = dataclasses.field(
        default_factory=lambda: Path("briefs"), metadata={"env": "RAG_BRIEFS", "help": "where `rag brief` saves"}
    )
    feeds_file: Path = dataclasses.field(
        default_factory=lambda: Path("feeds.toml"), metadata={"env": "RAG_FEEDS", "help": "feeds for --refresh"}
    )
    chroma_url: str = dataclasses.field(
        default="", metadata={"env": "RAG_CHROMA_URL", "help": "Chroma server URL; empty = embedded on disk"}
    )
    collection: str = dataclasses.field(
        default="news", metadata={"env": "RAG_COLLECTION", "help": "collection name prefix"}
    )
    embedder: str = dataclasses.field(
        default="local", metadata={"env": "RAG_EMBEDDER", "help": "local (MiniLM int8 ONNX) or openai"}
    )
    openai_embedding_model: str = dataclasses.field(
        default="text-embedding-3-small",
        metadata={"env": "RAG_OPENAI_EMBEDDING_MODEL", "help": "used when RAG_EMBEDDER=openai"},
    )
    embeddings_url: str = dataclasses.field(
        default="",
        metadata={
            "env": "RAG_EMBEDDINGS_URL",
            "help": "OpenAI-compatible embeddings server for RAG_EMBEDDER=openai (default: OPENAI_BASE_URL)",
        },
    )
    embed_batch: int = dataclasses.field(
        default=128, metadata={"env": "RAG_EMBED_BATCH", "help": "texts per request to an embeddings server"}
    )
    chunk_tokens: int = dataclasses.field(
        default=200, metadata={"env": "RAG_CHUNK_TOKENS", "help": "target chunk size, tiktoken tokens"}
    )
    chunk_overlap: int = dataclasses.field(
        default=30, metadata={"env": "RAG_CHUNK_OVERLAP", "help": "overlap between chunks, tokens"}
    )
    max_article_bytes: int = dataclasses.field(
        default=MAX_ARTICLE_BYTES,
        metadata={"env": "RAG_MAX_ARTICLE_BYTES", "help": "larger files and JSONL records are skipped (UTF-8 bytes)"},
    )
    top_k: int = dataclasses.field(default=10, metadata={"env": "RAG_TOP_K", "help": "chunks given to the answerer"})
    rrf_k: int = dataclasses.field(
        default=30, metadata={"env": "RAG_RRF_K", "help": "hybrid retrieval: reciprocal-rank-fusion constant"}
    )
    recency_weight: float = dataclasses.field(
        default=0.5,
        metadata={"env": "RAG_RECENCY_WEIGHT", "help": "news prior: the recency vote, in first-rank units (0 = off)"},
    )
    recency_half_life: float = dataclasses.field(
        default=7.0, metadata={"env": "RAG_RECENCY_HALF_LIFE", "help": "days for the recency vote to halve"}
    )
    ledes: int = dataclasses.field(
        default=3, metadata={"env": "RAG_LEDES", "help": "the answerer also reads the ledes of this many best articles"}
    )
    brief_max_words: int = dataclasses.field(
        default=1000, metadata={"env": "RAG_BRIEF_WORDS", "help": "`rag brief` length budget, words"}
    )
    brief_max_stories: int = dataclasses.field(
        default=24,
        metadata={
            "env": "RAG_BRIEF_STORIES",
            "help": "`rag brief`: at most this many stories told in sentences (more are listed by headline)",
        },
    )
    feeds_state: str = dataclasses.field(
        default="",
        metadata={"env": "RAG_FEEDS_STATE", "help": "feed poll state file (default: DATA_DIR/feeds-state.json)"},
    )
    generator: str = dataclasses.field(
        default="auto",
        metadata={"env": "RAG_GENERATOR", "help": "auto (llm when OPENAI_* set), extractive, llm or local"},
    )
    model: str = dataclasses.field(default="gpt-4o-mini", metadata={"env": "RAG_MODEL", "help": "chat model"})
    local_model: str = dataclasses.field(
        default="",
        metadata={
            "env": "RAG_LOCAL_MODEL",
            "help": "local engine: a GGUF file, or a pinned model (qwen2.5-coder-1.5b, qwen2.5-coder-0.5b); "
            "empty = the default pinned one",
        },
    )
    local_threads: int = dataclasses.field(
        default=2, metadata={"env": "RAG_LOCAL_THREADS", "help": "local engine: CPU threads llama.cpp uses"}
    )
    local_ctx: int = dataclasses.field(
        default=4096, metadata={"env": "RAG_LOCAL_CTX", "help": "local engine: context size, tokens"}
    )
    local_idle: float = dataclasses.field(
        default=900.0,
        metadata={
            "env": "RAG_LOCAL_IDLE",
            "help": "local engine: seconds the loaded model waits unused before its server stops",
        },
    )
    local_load_timeout: float = dataclasses.field(
        default=180.0,
        metadata={"env": "RAG_LOCAL_LOAD_TIMEOUT", "help": "local engine: seconds a cold load may take"},
    )
    local_max_tokens: int = dataclasses.field(
        default=320,
        metadata={
            "env": "RAG_LOCAL_MAX_TOKENS",
            "help": "local engine: the most tokens one reply may have (a brief's story is the longest)",
        },
    )
    local_sentences: int = dataclasses.field(
        default=4,
        metadata={"env": "RAG_LOCAL_SENTENCES", "help": "local engine: the reader's best sentences the model reads"},
    )
    openai_api_key: str = dataclasses.field(
        default="", repr=False, metadata={"env": "OPENAI_API_KEY", "help": "enables the LLM", "secret": True}
    )
    openai_base_url: str = dataclasses.field(
        default="", metadata={"env": "OPENAI_BASE_URL", "help": "any OpenAI-compatible server"}
    )
    temperature: float = dataclasses.field(default=0.0, metadata={"env": "RAG_TEMPERATURE", "help": "LLM"})
    timeout: float = dataclasses.field(
        default=60.0,
        metadata={"env": "RAG_TIMEOUT", "help": "seconds an LLM/embedding request may take, retries included"},
    )
    max_retries: int = dataclasses.field(
        default=3, metadata={"env": "RAG_MAX_RETRIES", "help": "retries on 429/5xx/timeouts"}
    )
    verify: str = dataclasses.field(
        default="rules",
        metadata={"env": "RAG_VERIFY", "help": "rules, or llm: the model also judges each claim (shown beside)"},
    )
    answer_threshold: float = dataclasses.field(
        default=0.0,
        metadata={
            "env": "RAG_ANSWER_THRESHOLD",
            "help": "refuse below this answerability probability (0 = the reader's calibrated threshold)",
        },
    )
    reader_rerank: bool = dataclasses.field(
        default=True,
        metadata={
            "env": "RAG_READER_RERANK",
            "help": "the reader's cross-encoder rescores the trees' best sentences (off: trees alone, ~100 ms faster)",
        },
    )
    llm_gate: bool = dataclasses.field(
        default=True,
        metadata={
            "env": "RAG_LLM_GATE",
            "help": "LLM engine: refuse without calling the model when the reader judges the articles cannot answer",
        },
    )
    server_token: str = dataclasses.field(
        default="",
        repr=False,
        metadata={
            "env": "RAG_SERVER_TOKEN",
            "help": "`rag serve`: bearer token every /api request needs; required off loopback",
            "secret": True,
        },
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then environment variables, then explicit overrides (e.g. CLI flags)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = f.metadata.get("env")
            if name and env.get(name, "") != "":
                values[f.name] = _coerce(f, env[name], name)
        values.update({k: v for k, v in overrides.items() if v is not None})
        for key in ("data_dir", "corpus_dir", "prompts_dir", "evals_dir", "briefs_dir", "feeds_file"):
            if key in values:
                values[key] = Path(values[key]).expanduser()
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.embedder not in {"local", "openai"}:
            raise ConfigError(f"RAG_EMBEDDER must be 'local' or 'openai', not {self.embedder!r}")
        if self.generator not in {"auto", "extractive", "llm", "local"}:
            raise ConfigError(f"RAG_GENERATOR must be auto, extractive, llm or local, not {self.generator!r}")
        if self.local_threads < 1 or self.local_ctx < 512 or self.local_idle <= 0 or self.local_load_timeout <= 0:
            raise ConfigError(
                "RAG_LOCAL_THREADS must be at least 1, RAG_LOCAL_CTX at least 512, "
                "and RAG_LOCAL_IDLE and RAG_LOCAL_LOAD_TIMEOUT positive"
            )
        if self.local_max_tokens < 16:
            raise ConfigError(f"RAG_LOCAL_MAX_TOKENS must be at least 16, not {self.local_max_tokens}")
        if not 1 <= self.local_sentences <= 40:
            raise ConfigError(f"RAG_LOCAL_SENTENCES must be between 1 and 40, not {self.local_sentences}")
        if self.verify not in {"rules", "llm"}:
            raise ConfigError(f"RAG_VERIFY must be rules or llm, not {self.verify!r}")
        if self.timeout <= 0:
            raise ConfigError(f"RAG_TIMEOUT must be a positive number of seconds, not {self.timeout:g}")
        if not 32 <= self.chunk_tokens <= 2000:
            raise ConfigError(f"RAG_CHUNK_TOKENS must be between 32 and 2000, not {self.chunk_tokens}")
        if not 0 <= self.chunk_overlap < self.chunk_tokens // 2:
            raise ConfigError("RAG_CHUNK_OVERLAP must be at least 0 and under half of RAG_CHUNK_TOKENS")
        if self.max_article_bytes < 1000:
            raise ConfigError(f"RAG_MAX_ARTICLE_BYTES must be at least 1000, not {self.max_article_bytes}")
        if self.top_k < 1:
            raise ConfigError("RAG_TOP_K must be at least 1")
        if self.rrf_k < 1 or self.recency_weight < 0 or self.recency_half_life <= 0 or self.ledes < 0:
            raise ConfigError(
                "RAG_RRF_K must be at least 1, RAG_RECENCY_WEIGHT and RAG_LEDES at least 0, "
                "and RAG_RECENCY_HALF_LIFE positive"
            )
        if self.brief_max_words < 50 or self.brief_max_stories < 1:
            raise ConfigError("RAG_BRIEF_WORDS must be at least 50 and RAG_BRIEF_STORIES at least 1")
        if self.chroma_url and not self.chroma_url.startswith(("http://", "https://")):
            raise ConfigError(f"RAG_CHROMA_URL must start with http:// or https://, not {self.chroma_url!r}")
        if self.embeddings_url and not self.embeddings_url.startswith(("http://", "https://")):
            raise ConfigError(f"RAG_EMBEDDINGS_URL must start with http:// or https://, not {self.embeddings_url!r}")
        if self.embed_batch < 1:
            raise ConfigError("RAG_EMBED_BATCH must be at least 1")
        if self.generator == "llm" and not self.llm_configured:
            raise ConfigError("the LLM/OpenAI path needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local server)")
        if self.embedder == "openai" and not (self.llm_configured or self.embeddings_url):
            raise ConfigError(
                "RAG_EMBEDDER=openai needs OPENAI_API_KEY, or a server in RAG_EMBEDDINGS_URL or OPENAI_BASE_URL"
            )

    @property
    def feeds_state_path(self) -> Path:
        """Where feed polling remembers what it has seen."""
        return Path(self.feeds_state).expanduser() if self.feeds_state else self.data_dir / "feeds-state.json"

    @property
    def llm_configured(self) -> bool:
        return bool(self.openai_api_key or self.openai_base_url)

    @property
    def use_local(self) -> bool:
        """Whether answers come from the local llama.cpp model (``RAG_GENERATOR=local``)."""
        return self.generator == "local"

    @property
    def use_llm(self) -> bool:
        """Whether answers come from a model: the configured LLM (explicitly, or by ``auto`` with OPENAI_* set),
        or the local one."""
        return self.generator in {"llm", "local"} or (self.generator == "auto" and self.llm_configured)

    @property
    def model_label(self) -> str:
        """The model answering, as people read it: the LLM's name, or the local model's file."""
        if self.use_local:
            from rag.local.weights import DEFAULT_MODEL

            return "local " + (Path(self.local_model).name if self.local_model else DEFAULT_MODEL)
        return self.model

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @property
    def secrets(self) -> list[str]:
        """Every secret setting (API key, server token) and the credentials inside configured URLs."""
        from rag.redact import url_secrets

        out = [getattr(self, f.name) for f in dataclasses.fields(self) if f.metadata.get("secret")]
        return [s for s in out if s] + url_secrets(self.openai_base_url) + url_secrets(self.chroma_url)

    def redact(self, text: str) -> str:
        """``text`` with every form of every secret (case variants, 8+ character prefixes, base64,
        URL-encoded) and URL credentials replaced by ``****``."""
        from rag.redact import redact

        return redact(text, self.secrets)

    def display(self) -> list[tuple[str, str, str, str]]:
        """(env var, effective value, source, help) rows, the key masked."""
        rows = []
        for f in fields(self):
            value = getattr(self, f.name)
            shown = mask(str(value)) if f.metadata.get("secret") else self.redact(str(value))
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[operator]
            source = "default" if value == default else "set"
            rows.append((f.metadata.get("env", f.name), shown, source, f.metadata.get("help", "")))
        return rows


def mask(secret: str) -> str:
    """Show that a key is set without showing it."""
    if not secret:
        return ""
    return "****" + secret[-4:] if len(secret) >= 12 else "****"


def _coerce(f: dataclasses.Field[Any], raw: str, name: str) -> Any:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "str")
    if kind == "bool":
        flag = raw.strip().lower()
        if flag not in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
            raise ConfigError(f"{name} must be on or off (1/0, true/false), not {raw!r}")
        return flag in {"1", "true", "yes", "on"}
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    return raw
