"""Deterministic synthetic news for the service benchmarks, and an embedder that fits it.

Events (a person, a place, a topic, a figure) carry several reports (an action, a
detail, an aspect); each report is published in en/ru/es, sometimes rewritten with
synonyms, sometimes reposted verbatim. The texts are realistic enough for the real
model's speed (titles plus ~240-character texts), and the synthetic embedder maps their
words onto language-free concepts, so translations land near each other, reports of
one event near their story and different events far apart: the pipeline does the
same work on the 100k fill as on real news, without paying for 100k model calls.
"""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from embeddings.base import ModelIdentity, normalise_rows

T = TypeVar("T")
LANGS = ("en", "ru", "es")
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
DAY = 86_400.0

# concept -> (en forms, ru forms, es forms); synonyms after the first form make rewrites.
ROLES = {
    "president": (("President",), ("президент",), ("el presidente",)),
    "minister": (("Minister", "Secretary"), ("министр",), ("el ministro",)),
    "governor": (("Governor",), ("губернатор",), ("el gobernador",)),
    "mayor": (("Mayor",), ("мэр", "глава города"), ("el alcalde",)),
    "ceo": (("chief executive", "CEO"), ("гендиректор",), ("el consejero delegado",)),
    "judge": (("Judge",), ("судья",), ("el juez",)),
}
TOPICS = {
    "talks": (("peace talks", "negotiations"), ("переговоры",), ("las negociaciones",)),
    "budget": (("budget",), ("бюджет",), ("el presupuesto",)),
    "strike": (("strike", "walkout"), ("забастовка",), ("la huelga",)),
    "flood": (
        ("flood relief",),
        ("помощь пострадавшим от наводнения",),
        ("la ayuda por inundaciones",),
    ),
    "election": (("election",), ("выборы",), ("las elecciones",)),
    "sanctions": (("sanctions",), ("санкции",), ("las sanciones",)),
    "merger": (("merger", "takeover"), ("слияние",), ("la fusión",)),
    "reform": (("pension reform",), ("пенсионная реформа",), ("la reforma de pensiones",)),
    "trial": (("corruption trial",), ("дело о коррупции",), ("el juicio por corrupción",)),
    "wildfire": (("wildfire response",), ("тушение пожаров",), ("la lucha contra incendios",)),
    "tariffs": (("tariffs", "import duties"), ("пошлины",), ("los aranceles",)),
    "vaccine": (("vaccine rollout",), ("вакцинация",), ("la vacunación",)),
}
ACTIONS = {
    "announced": (("announced", "unveiled"), ("объявил",), ("anunció",)),
    "rejected": (("rejected", "turned down"), ("отверг",), ("rechazó",)),
    "proposed": (("proposed", "put forward"), ("предложил",), ("propuso",)),
    "warned": (("warned about",), ("предупредил о",), ("advirtió sobre",)),
    "confirmed": (("confirmed",), ("подтвердил",), ("confirmó",)),
    "postponed": (("postponed", "delayed"), ("отложил",), ("aplazó",)),
    "signed": (("signed",), ("подписал",), ("firmó",)),
    "criticised": (("criticised", "slammed"), ("раскритиковал",), ("criticó",)),
}
ASPECTS = {
    "deadline": (("the deadline",), ("сроки",), ("el plazo",)),
    "funding": (("the funding", "the money"), ("финансирование",), ("la financiación",)),
    "security": (
        ("security guarantees",),
        ("гарантии безопасности",),
        ("las garantías de seguridad",),
    ),
    "inquiry": (
        ("an independent inquiry",),
        ("независимое расследование",),
        ("una investigación independiente",),
    ),
    "jobs": (("thousands of jobs",), ("тысячи рабочих мест",), ("miles de empleos",)),
    "prices": (("rising prices",), ("рост цен",), ("la subida de precios",)),
    "protests": (("the protests",), ("протесты",), ("las protestas",)),
}
DAYS = {
    f"day{i}": ((en,), (ru,), (es,))
    for i, (en, ru, es) in enumerate(
        [
            ("on Monday", "в понедельник", "el lunes"),
            ("on Tuesday", "во вторник", "el martes"),
            ("on Wednesday", "в среду", "el miércoles"),
            ("on Thursday", "в четверг", "el jueves"),
            ("on Friday", "в пятницу", "el viernes"),
        ]
    )
}
# Sentence frames per language; a rewrite takes the second frame and synonyms.
TITLES = {
    "en": ("{role} {person} {action} {topic} in {place}", "{place}: {person} {action} {topic}"),
    "ru": ("{role} {person} {action} {topic} в {place}", "{place}: {person} {action} {topic}"),
    "es": ("{role} {person} {action} {topic} en {place}", "{place}: {person} {action} {topic}"),
}
TEXTS = {
    "en": (
        "{role} {person} {action} {topic} {day}, pointing to {aspect}. Officials in {place} said "
        "{number} people could be affected, and {other} told reporters that talks with the "
        "regional authorities would continue next week.",
        "Speaking in {place} {day}, {person} {action} {topic}. {other} said {aspect} remained "
        "the main obstacle and that about {number} people were directly affected; further "
        "meetings are expected before the end of the month.",
    ),
    "ru": (
        "{role} {person} {day} {action} {topic}, сославшись на {aspect}. Чиновники в {place} "
        "заявили, что затронуты могут быть {number} человек, а {other} сообщил журналистам, что "
        "консультации с региональными властями продолжатся на следующей неделе.",
        "Выступая в {place} {day}, {person} {action} {topic}. По словам {other}, {aspect} "
        "остаются главным препятствием, а напрямую затронуты около {number} человек; новые "
        "встречи ожидаются до конца месяца.",
    ),
    "es": (
        "{role} {person} {action} {topic} {day}, aludiendo a {aspect}. Funcionarios de {place} "
        "dijeron que {number} personas podrían verse afectadas, y {other} explicó a la prensa que "
        "las conversaciones con las autoridades regionales seguirán la próxima semana.",
        "En declaraciones en {place} {day}, {person} {action} {topic}. Según {other}, {aspect} "
        "sigue siendo el principal obstáculo y unas {number} personas están afectadas; se "
        "esperan nuevas reuniones antes de fin de mes.",
    ),
}
SOURCES = ("wire", "daily", "courier", "herald", "gazette", "tribune", "post", "observer")

_LAT = "bvgdzklmnprstf"
_CYR = "бвгдзклмнпрстф"
_VOW_LAT, _VOW_CYR = "aeiou", "аеиоу"
_TO_LATIN = str.maketrans(_CYR + _VOW_CYR, _LAT + _VOW_LAT)


def _name(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(_LAT) + rng.choice(_VOW_LAT) for _ in range(syllables)).title()


def _cyrillic(name: str) -> str:
    return name.lower().translate(str.maketrans(_LAT + _VOW_LAT, _CYR + _VOW_CYR)).title()


@dataclass(frozen=True)
class Snippet:
    title: str
    text: str
    lang: str
    source: str
    url: str
    published_at: float
    external_id: str
    event: int
    report: int

    def as_json(self) -> dict:
        from datetime import UTC, datetime

        when = datetime.fromtimestamp(self.published_at, UTC).isoformat()
        return {
            "title": self.title,
            "text": self.text,
            "lang": self.lang,
            "source": self.source,
            "url": self.url,
            "published_at": when.replace("+00:00", "Z"),
            "external_id": self.external_id,
        }


def _form(table: dict, key: str, lang: str, rewrite: bool) -> str:
    forms = table[key][LANGS.index(lang)]
    return forms[1] if rewrite and len(forms) > 1 else forms[0]


def snippets(n: int, seed: int = 0, events_per_day: float = 600.0) -> list[Snippet]:
    """`n` snippets in publication order: ~6 per event over 1 to 5 reports."""
    rng = random.Random(seed)
    out: list[Snippet] = []
    event = report = 0
    while len(out) < n:
        t0 = START + event * DAY / events_per_day
        person, other, place = _name(rng, 3), _name(rng, 2), _name(rng, 2) + "sk"
        slots = {"topic": rng.choice(list(TOPICS)), "role": rng.choice(list(ROLES))}
        for _ in range(min(1 + int(rng.expovariate(0.6)), 5)):
            detail = {
                "action": rng.choice(list(ACTIONS)),
                "aspect": rng.choice(list(ASPECTS)),
                "day": rng.choice(list(DAYS)),
                "number": str(rng.randrange(20, 90_000)),
            }
            t_report = t0 + rng.expovariate(1 / 7200.0)
            for lang in rng.sample(LANGS, rng.randint(1, 3)):
                for copy in range(1 + (rng.random() < 0.25)):
                    rewrite = copy == 0 and rng.random() < 0.3
                    out.append(
                        _render(rng, lang, rewrite, person, other, place, slots, detail, seed,
                                len(out), t_report + rng.expovariate(1 / 1800.0), event, report)
                    )  # fmt: skip
            report += 1
        event += 1
    out = out[:n]
    out.sort(key=lambda s: (s.published_at, s.external_id))
    return out


def _render(
    rng: random.Random,
    lang: str,
    rewrite: bool,
    person: str,
    other: str,
    place: str,
    slots: dict[str, str],
    detail: dict[str, str],
    seed: int,
    number: int,
    published_at: float,
    event: int,
    report: int,
) -> Snippet:
    frame = 1 if rewrite else 0
    if lang == "ru":
        person, other, place = _cyrillic(person), _cyrillic(other), _cyrillic(place)
    values = {
        "person": person,
        "other": other,
        "place": place,
        "number": detail["number"],
        "role": _form(ROLES, slots["role"], lang, rewrite),
        "topic": _form(TOPICS, slots["topic"], lang, rewrite),
        "action": _form(ACTIONS, detail["action"], lang, rewrite),
        "aspect": _form(ASPECTS, detail["aspect"], lang, rewrite),
        "day": _form(DAYS, detail["day"], lang, rewrite),
    }
    title = TITLES[lang][frame].format(**values)
    text = TEXTS[lang][frame].format(**values)
    source = rng.choice(SOURCES)
    return Snippet(
        title=title[0].upper() + title[1:],
        text=text[0].upper() + text[1:],
        lang=lang,
        source=source,
        url=f"https://{source}.example/{seed}/{number}",
        published_at=published_at,
        external_id=f"bench-{seed}-{number}",
        event=event,
        report=report,
    )


def batches(items: list[T], size: int) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# -- the synthetic embedder ----------------------------------------------------------

_TOKEN = re.compile(r"\w+", re.UNICODE)
_WEIGHTS = {"concept": 1.0, "name": 1.5, "number": 2.0, "word": 0.12}


def _lexicon() -> tuple[dict[str, str], frozenset[str]]:
    """Words of the concept forms mapped to their concept (words shared by several
    concepts, such as articles, stay plain words), and the frames' own words."""
    seen: dict[str, set[str]] = {}
    for table in (ROLES, TOPICS, ACTIONS, ASPECTS, DAYS):
        for key, per_lang in table.items():
            for forms in per_lang:
                for form in forms:
                    for word in _TOKEN.findall(form.lower()):
                        seen.setdefault(word, set()).add(key)
    frames = " ".join(t for table in (TITLES, TEXTS) for ts in table.values() for t in ts)
    plain = frozenset(_TOKEN.findall(re.sub(r"\{\w+\}", " ", frames).lower()))
    concepts = {w: next(iter(keys)) for w, keys in seen.items() if len(keys) == 1}
    return {w: k for w, k in concepts.items() if w not in plain}, plain


class SyntheticEmbedder:
    """Bag of concepts, hashed into a fixed random table: cheap, deterministic, and
    clustered by event. Names match across scripts after transliteration."""

    def __init__(self, dim: int = 512, table_rows: int = 4096) -> None:
        self.identity = ModelIdentity("bench-synthetic", dim, "1")
        rng = np.random.default_rng(20261125)
        self._table = rng.standard_normal((table_rows, dim)).astype(np.float32)
        self._rows = table_rows
        self._lexicon, self._plain = _lexicon()

    def _keys(self, text: str) -> list[tuple[str, float]]:
        out = []
        for raw in _TOKEN.findall(text):
            word = raw.lower()
            if word in self._lexicon:
                out.append((self._lexicon[word], _WEIGHTS["concept"]))
            elif word.isdigit():
                out.append(("#" + word, _WEIGHTS["number"]))
            elif raw[0].isupper() and word not in self._plain:
                out.append(("@" + word.translate(_TO_LATIN), _WEIGHTS["name"]))
            else:
                out.append((word, _WEIGHTS["word"]))
        return out

    def _vector(self, text: str) -> np.ndarray:
        keys = self._keys(text)
        rows = np.empty(2 * len(keys), dtype=np.int64)
        weights = np.empty(2 * len(keys), dtype=np.float32)
        for j, (key, w) in enumerate(keys):
            h = zlib.crc32(key.encode("utf-8"))
            rows[2 * j], rows[2 * j + 1] = h % self._rows, (h >> 12) % self._rows
            weights[2 * j] = w if h & 1 else -w
            weights[2 * j + 1] = w if h & 2 else -w
        return weights @ self._table[rows]

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.identity.dim), dtype=np.float32)
        return normalise_rows(np.vstack([self._vector(t) for t in texts]))

    def embed_query(self, texts: list[str]) -> np.ndarray:
        return self.embed(texts)


class _WithRealModel(SyntheticEmbedder):
    """Also loads the real default model (and warms it) without using it, so a restart
    pays the same model start-up and the process holds the same model memory."""

    def __init__(self, threads: int) -> None:
        super().__init__()
        from embeddings.usem3_backend import USEEmbedder

        self._ballast = USEEmbedder(threads=threads)
        self._warm = False

    def embed(self, texts: list[str]) -> np.ndarray:
        if not self._warm:  # the service's own warm-up call, on its background thread
            self._ballast.embed(["warm-up: load the weights before saying ready"])
            self._warm = True
        return super().embed(texts)


def factory(threads: int = 2) -> SyntheticEmbedder:
    """`STORYLINE_MODEL=py:bench.synthetic:factory`; STORYLINE_BENCH_BALLAST=usem3 also
    loads the real model as ballast."""
    import os

    if os.environ.get("STORYLINE_BENCH_BALLAST") == "usem3":
        return _WithRealModel(threads)
    return SyntheticEmbedder()
