"""When the language models load: beside the model where there are cores for it, else once
the service is ready (measured on 2 cores: loading them beside the model delayed readiness
and finished no sooner; docs/operations.md, Processes and threads)."""

from __future__ import annotations

from app.settings import Settings
from app.wiring import languages_load


def test_languages_load_beside_the_model_only_with_cores_to_spare() -> None:
    default = Settings()  # two one-thread model processes
    assert languages_load(default, cores=2) == "ready"
    assert languages_load(default, cores=4) == "ready"
    assert languages_load(default, cores=5) == "start"
    assert languages_load(Settings(embed_threads=8), cores=8) == "ready"
    assert languages_load(Settings(embed_threads=8, model_workers=1), cores=8) == "start"
