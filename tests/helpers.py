"""Helpers shared by tests in more than one folder (fixtures live in tests/conftest.py).

Import them as `from tests.helpers import ...`; no test module imports another."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from app.api import create_app
from app.settings import Settings
from app.wiring import build_service
from embeddings import Embedder
from engine.records import Incoming
from engine.reindex import ReindexOptions, StopHook
from engine.service import Service
from evaluation.datasets import Dataset, Item, seed_story
from evaluation.metrics import level_scores

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"


def load_jsonl(name: str) -> list[dict]:
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


# -- one-line headlines by language (language detection) -----------------------------

RU = [
    "В Пентагоне считают, что Путин не вправе ставить условия",
    "Центробанк сохранил ключевую ставку на прежнем уровне",
    "В Москве ожидается аномальная жара до конца недели",
    "Сборная России по хоккею обыграла Финляндию в овертайме",
    "Правительство одобрило законопроект о налоге на сверхприбыль",
    "Цены на бензин выросли в большинстве регионов страны",
    "Учёные обнаружили новый вид древних динозавров в Якутии",
    "Президент подписал указ о призыве резервистов",
    "Землетрясение магнитудой шесть баллов произошло у берегов Камчатки",
    "Генсек НАТО призвал союзников увеличить военные расходы",
    "Школьники сдали единый государственный экзамен по математике",
    "Аэропорт Шереметьево отменил десятки рейсов из-за снегопада",
]

EN = [
    "Putin sets condition for Ukraine peace talks",
    "Central bank holds interest rates steady amid inflation fears",
    "Heatwave grips southern Europe as temperatures soar",
    "Apple unveils new iPhone with longer battery life",
    "Storm leaves thousands without power across the Midwest",
    "Parliament votes to extend emergency powers for six months",
    "Scientists discover ancient shipwreck off the coast of Greece",
    "Oil prices fall after OPEC agrees to boost output",
    "Striking nurses reject latest pay offer from the government",
    "Manchester United sack manager after dismal run of results",
    "Wildfire forces evacuation of mountain towns in California",
    "Tech giants face new antitrust probe in Brussels",
]

ES = [
    "La OTAN no considera pacífica la propuesta de Putin",
    "El Banco Central mantiene los tipos de interés sin cambios",
    "Una ola de calor dispara las temperaturas en el sur de España",
    "El Gobierno aprueba la reforma de las pensiones",
    "Miles de personas se manifiestan en Madrid contra la subida de precios",
    "El Real Madrid gana la final de la Liga de Campeones",
    "Un terremoto sacude la costa de Chile sin causar víctimas",
    "Los agricultores bloquean las carreteras en protesta por los costes",
    "La inflación se modera en el mes de mayo según el INE",
    "Detenido un hombre por el incendio forestal de Valencia",
    "El precio de la vivienda alcanza un máximo histórico",
    "Científicos descubren una nueva especie de rana en la Amazonía",
]

OTHER_LANGS = [
    ("uk", "Україна отримала нову партію військової допомоги від союзників"),
    ("uk", "У Києві оголосили повітряну тривогу через загрозу ракетного удару"),
    ("uk", "Верховна Рада ухвалила закон про мобілізацію"),
    ("de", "Bundesregierung beschließt neues Gesetz zur Energiewende"),
    ("de", "Die Inflation in Deutschland ist im Oktober deutlich gesunken"),
    ("de", "Schwere Unwetter sorgen für Chaos auf den Straßen in Bayern"),
    ("fr", "Le gouvernement présente son projet de budget pour l'année prochaine"),
    ("fr", "Grève dans les transports : la circulation fortement perturbée à Paris"),
    ("fr", "Les prix de l'énergie continuent de baisser selon l'Insee"),
    ("it", "Il governo approva la nuova legge di bilancio"),
    ("pt", "O governo anunciou novas medidas para conter a inflação"),
]


# -- a real server on a loopback socket, in this process ------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """uvicorn serving the app on 127.0.0.1 in a thread: real sockets, real HTTP.
    `settings`: what the HTTP layer runs with (keys, limits); default ones otherwise."""

    def __init__(self, service: Service, settings: Settings | None = None) -> None:
        self.service = service
        self.port = free_port()
        settings = settings or Settings(data_dir=service.config.data_dir)
        app = create_app(settings, service=service)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 30 s")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def assert_error(r: httpx.Response, *statuses: int) -> dict:
    """A documented 4xx with the error shape and a message a person can act on."""
    assert r.status_code < 500, f"{r.status_code} for {r.request.method} {r.request.url}: {r.text}"
    assert 400 <= r.status_code < 500, r.text
    if statuses:
        assert r.status_code in statuses, r.text
    assert r.headers["content-type"].startswith("application/json"), r.headers
    err = r.json()["error"]
    assert isinstance(err["code"], str) and err["code"]
    assert isinstance(err["message"], str) and err["message"].strip()
    assert set(err) <= {"code", "message", "field"}
    return err


def post_all(client: httpx.Client, bodies: list[dict]) -> list[dict]:
    """POST each body alone; every one must be accepted."""
    out = []
    for body in bodies:
        r = client.post("/v1/snippets", json=body)
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


# -- the seed story and the unrelated news as API bodies (pages, browser) -------------

SEED_TITLE = "Putin Sets Condition for Ukraine Peace Talks"
HOCKEY_RU = "Сборная России по хоккею"  # unrelated_news u1, a Russian-only story


def seed_snippets() -> list[dict]:
    """The seed story and the unrelated news as API bodies, with sources, links and times:
    the seed story over one day, the unrelated news one a day from 10 June 2024."""
    out = []
    for i, d in enumerate(load_jsonl("seed_story.jsonl")):
        out.append(
            {
                "title": d.get("title"),
                "text": d["text"],
                "lang": d["lang"],
                "external_id": f"seed-{d['key']}",
                "source": f"wire-{d['lang']}",
                "url": f"https://news.example.org/{d['lang']}/{d['key']}",
                "published_at": f"2024-06-14T{8 + i:02d}:00:00Z",
            }
        )
    for i, d in enumerate(load_jsonl("unrelated_news.jsonl")):
        out.append(
            {
                "text": d["text"],
                "lang": d["lang"],
                "external_id": f"news-{d['key']}",
                "source": f"daily-{d['lang']}",
                "published_at": f"2024-06-{10 + i:02d}T06:00:00Z",
            }
        )
    return out


def ingest_batch(client: httpx.Client, snippets: list[dict]) -> list[dict]:
    """POST /v1/snippets/batch; every item must be placed."""
    r = client.post("/v1/snippets/batch", json={"snippets": snippets})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert all("story_id" in x for x in results), results
    return results


# -- one earthquake in three languages and a football match (corrections) -------------

QUAKE = [
    {
        "title": "Strong earthquake shakes Tokyo",
        "text": "A magnitude 7.1 earthquake struck near Tokyo on Monday, shaking buildings.",
        "lang": "en",
        "external_id": "q-en",
        "published_at": "2024-06-14T10:00:00Z",
    },
    {
        "title": "Сильное землетрясение в Токио",
        "text": "Землетрясение магнитудой 7,1 произошло недалеко от Токио в понедельник.",
        "lang": "ru",
        "external_id": "q-ru",
        "published_at": "2024-06-14T10:05:00Z",
    },
    {
        "title": "Fuerte terremoto sacude Tokio",
        "text": "Un terremoto de magnitud 7,1 sacudió Tokio el lunes y movió los edificios.",
        "lang": "es",
        "external_id": "q-es",
        "published_at": "2024-06-14T10:10:00Z",
    },
    {
        "title": "Tokyo earthquake: trains halted",
        "text": "After the magnitude 7.1 earthquake near Tokyo, trains were halted across the "
        "city on Monday while engineers inspected the tracks.",
        "lang": "en",
        "external_id": "q-trains",
        "published_at": "2024-06-14T11:00:00Z",
    },
]
OTHER = {
    "title": "Real Madrid beat Barcelona",
    "text": "Real Madrid beat Barcelona 3-1 in the Clasico on Sunday night in Madrid.",
    "lang": "en",
    "external_id": "football",
    "published_at": "2024-06-14T12:00:00Z",
}


def consistency(service: Service) -> None:
    """Every stored aggregate equals a recount from the snippets; index == storage."""
    db = sqlite3.connect(service.config.db_path)
    try:
        stories = db.execute(
            "SELECT id, snippet_count, report_count, first_seen, last_seen, title_snippet_id "
            "FROM stories WHERE merged_into IS NULL"
        ).fetchall()
        for sid, n, nrep, first, last, title in stories:
            got = db.execute(
                "SELECT COUNT(*), COUNT(DISTINCT report_id), MIN(published_at), "
                "MAX(published_at) FROM snippets WHERE story_id = ?",
                (sid,),
            ).fetchone()
            assert got == (n, nrep, first, last), f"story {sid}"
            assert n > 0, f"empty story {sid} still listed"
            owner = db.execute("SELECT story_id FROM snippets WHERE id = ?", (title,)).fetchone()
            assert owner == (sid,), f"story {sid} titled by snippet {title} it does not hold"
            langs = dict(
                db.execute("SELECT lang, count FROM story_langs WHERE story_id = ?", (sid,))
            )
            counted = dict(
                db.execute(
                    "SELECT lang, COUNT(*) FROM snippets WHERE story_id = ? GROUP BY lang", (sid,)
                )
            )
            assert langs == counted, f"story {sid} languages"
        for rid, n in db.execute("SELECT id, snippet_count FROM reports"):
            got = db.execute("SELECT COUNT(*) FROM snippets WHERE report_id = ?", (rid,))
            assert got.fetchone()[0] == n > 0, f"report {rid}"
        stored = {r[0] for r in db.execute("SELECT id FROM snippets")}
    finally:
        db.close()
    assert set(service.index.ids().tolist()) == stored


# -- the re-index on dataset items -----------------------------------------------------


def item_incoming(it: Item, published_at: float | None = None) -> Incoming:
    return Incoming(
        title=it.title,
        text=it.text,
        lang=it.lang,
        source="test",
        url=None,
        published_at=published_at or it.published_at,
        external_id=it.key,
        received_at=time.time(),
    )


def ingest_items(service: Service, items: list[Item], batch: int = 8) -> dict[str, int]:
    """Items in the given (arrival) order; returns item key -> snippet id."""
    got: dict[str, int] = {}
    for i in range(0, len(items), batch):
        chunk = items[i : i + batch]
        outcomes = service.ingest([item_incoming(it) for it in chunk])
        for it, out in zip(chunk, outcomes, strict=True):
            got[it.key] = out.id
    return got


def assignments(service: Service) -> dict[int, tuple[int, int]]:
    rows = service.repo.conn.execute("SELECT id, story_id, report_id FROM snippets").fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def scores(service: Service, data: Dataset, ids: dict[str, int]) -> tuple[dict, dict]:
    got = assignments(service)
    items = data.items
    langs = [it.lang for it in items]
    story = level_scores([got[ids[it.key]][0] for it in items], [it.story for it in items], langs)
    report = level_scores([got[ids[it.key]][1] for it in items], [it.report for it in items], langs)
    return story, report


def run_reindex(service: Service, options: ReindexOptions | None = None, **kw: Any) -> dict:
    """A re-index job, run to its end in this thread."""
    opts = options or ReindexOptions()
    return service.jobs.run("reindex", opts.as_dict(), service.reindex_job(opts, **kw))  # type: ignore[arg-type]


def assert_consistent(service: Service) -> None:
    """Every snippet sits in a live story and a report of that story, and every stored
    count, the index and the model identity agree with the rows."""
    q = service.repo.conn.execute
    assert (
        q(
            "SELECT COUNT(*) FROM snippets s LEFT JOIN stories st ON st.id = s.story_id "
            "WHERE st.id IS NULL OR st.merged_into IS NOT NULL"
        ).fetchone()[0]
        == 0
    )
    assert (
        q(
            "SELECT COUNT(*) FROM snippets s LEFT JOIN reports r ON r.id = s.report_id "
            "WHERE r.id IS NULL OR r.story_id != s.story_id"
        ).fetchone()[0]
        == 0
    )
    bad_stories = q(
        "SELECT st.id FROM stories st WHERE st.merged_into IS NULL AND (st.snippet_count != "
        "(SELECT COUNT(*) FROM snippets s WHERE s.story_id = st.id) OR st.report_count != "
        "(SELECT COUNT(DISTINCT report_id) FROM snippets s WHERE s.story_id = st.id) OR "
        "st.snippet_count != (SELECT COALESCE(SUM(count), 0) FROM story_langs l "
        "WHERE l.story_id = st.id))"
    ).fetchall()
    assert bad_stories == []
    assert (
        q(
            "SELECT COUNT(*) FROM reports r WHERE r.snippet_count != "
            "(SELECT COUNT(*) FROM snippets s WHERE s.report_id = r.id)"
        ).fetchone()[0]
        == 0
    )
    assert (
        q(
            "SELECT COUNT(*) FROM stories WHERE merged_into IN "
            "(SELECT id FROM stories WHERE merged_into IS NOT NULL)"
        ).fetchone()[0]
        == 0
    )
    ids = {r[0] for r in q("SELECT id FROM snippets")}
    assert set(service.index.ids().tolist()) == ids
    key = service.embedder.identity.key
    assert service.repo.get_meta("model") == key
    assert q("SELECT COUNT(*) FROM snippets WHERE model != ?", (key,)).fetchone()[0] == 0


class PauseHook(StopHook):
    """Holds the job after a phase until the test lets it go."""

    def __init__(self, phase: str) -> None:
        object.__setattr__(self, "phase_", phase)
        object.__setattr__(self, "reached", threading.Event())
        object.__setattr__(self, "go", threading.Event())
        super().__init__()

    def after_phase(self, phase: str) -> None:
        if phase == self.phase_:  # type: ignore[attr-defined]
            self.reached.set()  # type: ignore[attr-defined]
            assert self.go.wait(60)  # type: ignore[attr-defined]


def split_online(tmp_path: Path, embedder: Embedder) -> tuple[Settings, dict[str, int]]:
    """Online assignment with a story threshold no pair passes: every report its own story
    (a stand-in for stories split by arrival order), then the service stops."""
    settings = Settings(
        data_dir=tmp_path / "split", writer_linger_ms=1.0, story_threshold=0.99, event_link=False
    )
    service = build_service(settings, embedder=embedder)
    try:
        ids = ingest_items(service, seed_story().items)
    finally:
        service.close()
    return settings.model_copy(update={"story_threshold": None, "event_link": None}), ids


# -- damaged data folders (corruption) ------------------------------------------------

PAGE = 4096


def seed_folder(data_dir: Path, embedder: Embedder) -> int:
    """A cleanly closed data folder (database checkpointed, index snapshot saved) holding
    the unrelated news; returns how many snippets it holds."""
    svc = build_service(Settings(data_dir=data_dir), embedder=embedder)
    try:
        items = [
            Incoming(
                title=None,
                text=d["text"],
                lang=d["lang"],
                source=None,
                url=None,
                published_at=None,
                external_id=d["key"],
                received_at=time.time(),
            )
            for d in load_jsonl("unrelated_news.jsonl")
        ]
        svc.ingest(items)
    finally:
        svc.close()
    conn = sqlite3.connect(data_dir / "storyline.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return len(items)


def copy_folder(src: Path, dst: Path) -> Path:
    """A copy of a closed data folder, without its lock file."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("writer.lock"))
    return dst


def damage_index(path: Path, how: str) -> None:
    raw = bytearray(path.read_bytes())
    if how == "truncated":
        path.write_bytes(raw[: len(raw) * 2 // 3])
    elif how == "header_cut":
        path.write_bytes(raw[:20])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "bit_flip":
        raw[len(raw) - 100] ^= 0x01  # one bit inside the vectors
        path.write_bytes(raw)
    elif how == "garbage":
        path.write_bytes(os.urandom(len(raw)))
    elif how == "trailing":
        path.write_bytes(raw + b"\0" * 16)
    elif how == "directory":
        path.unlink()
        path.mkdir()
    else:
        raise AssertionError(how)


def damage_db(path: Path, how: str) -> None:
    raw = bytearray(path.read_bytes())
    if how == "header":
        raw[:100] = os.urandom(100)
    elif how == "truncated":
        raw = raw[: len(raw) // 2 + 123]
    elif how == "zeroed_page":
        raw[PAGE * 2 : PAGE * 3] = bytes(PAGE)
    elif how == "not_sqlite":
        raw = bytearray(b"this is not a database\n" * 100)
    else:
        raise AssertionError(how)
    path.write_bytes(bytes(raw))
