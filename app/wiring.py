"""Settings become a running engine here, and only here: the model, the language
detector, the parameters (the model's calibration with the settings' overrides) and
the engine's configuration."""

from __future__ import annotations

import os
from functools import partial
from typing import Literal

from app.observability.metrics import Metrics
from app.settings import Settings
from embeddings import Embedder, load_embedder
from engine.config import EngineConfig
from engine.generation import ParamsFor, params_for
from engine.observer import Observer
from engine.service import Service


def engine_config(settings: Settings) -> EngineConfig:
    return EngineConfig(
        data_dir=settings.data_dir,
        model=settings.model,
        embed_chars=settings.embed_chars,
        embed_batch=settings.embed_batch_size,
        writer_queue_size=settings.writer_queue_size,
        writer_linger_ms=settings.writer_linger_ms,
        index_snapshot_every=settings.index_snapshot_every,
    )


def load_model(settings: Settings, spec: str | None = None) -> Embedder:
    """The model `spec` names (default: the configured one), laid out as the settings say:
    in child processes (`embeddings.process`) or in this process."""
    spec = spec or settings.model
    if settings.model_process:
        from embeddings.process import model_process

        workers, threads = settings.model_layout()
        return model_process(spec, threads=threads, device=settings.device, workers=workers)
    return load_embedder(spec, threads=settings.embed_threads, device=settings.device)


def parameters(settings: Settings) -> ParamsFor:
    """A model's parameters: its calibration, then the settings' overrides."""
    return partial(params_for, overrides=settings.param_overrides())


LanguageLoad = Literal["start", "ready", "demand"]


def languages_load(settings: Settings, cores: int | None = None) -> LanguageLoad:
    """When the language models load if nobody says: with the model ('start') where the
    machine has a core for each start-up process (the model's, the service's and the two
    detectors'), else once the service is ready ('ready'): their ~4 CPU-s of loading
    would otherwise share the cores with what makes the service ready."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    workers, _ = settings.model_layout()
    return "start" if cores >= workers + 3 else "ready"


def check_ahead(settings: Settings) -> None:
    """Begin the start-up steps that read whole files (`engine.startup.begin`) before
    the web stack is imported."""
    from engine.startup import begin

    begin(settings.db_path, settings.index_path)


def build_service(
    settings: Settings,
    embedder: Embedder | None = None,
    *,
    adopt_model: bool = False,
    observer: Observer | None = None,
    languages: LanguageLoad | None = None,
) -> Service:
    """The service on `settings`. A service handed a loaded model (the tests') runs it as
    it is; otherwise it loads and owns the configured one. `languages` says when the
    language models load: beside the model ('start'), once the service is ready
    ('ready'), or at the first snippet without `lang` ('demand', for a command that
    knows it will meet none); by default as `languages_load` decides."""
    from language.process import shared_detector

    detector = shared_detector(settings.languages)
    when = languages or languages_load(settings)
    if when == "start":
        detector.load_in_background()
    observer = observer or Metrics()
    owns = embedder is None
    service = Service(
        engine_config(settings),
        embedder if embedder is not None else load_model(settings),
        detector,
        parameters(settings),
        load_model=lambda spec: load_model(settings, spec),
        owns_model=owns,
        adopt_model=adopt_model,
        observer=observer,
    )
    if isinstance(observer, Metrics):
        observer.watch(service.gauges)  # state gauges read at every scrape
    # Reads, and writes that name their `lang`, are served from here on; a snippet
    # without one waits until the detector has loaded (seconds after start-up).
    if when == "ready":
        detector.load_in_background()
    return service
