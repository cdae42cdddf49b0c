"""A seeded, realistic synthetic population, written as department source extracts.

Enterprises over the districts of 广州, 上海, 北京 and 深圳, with GB/T 4754 industries
(``profiles/data/industries.yaml``), lognormal sizes and correlated finances; persons with
ages 0-105 and Shanghai/Beijing hukou for the most part. Check characters are valid; 3-5 %
of the values of each non-key field are missing (never on list-type fields, whose extracts
list only the entities that have the thing). Files follow the naming scheme of
``profiles.sources``; some are GB18030, some use Chinese labels as headers, so ingest is
exercised. ``bad_rows=k`` corrupts k rows on purpose (bad check character, 5-digit district,
unknown status, impossible date, negative headcount, text in a number, conflicting
duplicate) for demos of the quarantine.

Enterprises belong to industry chains (集成电路, 生物医药 …) by industry, and their 经营范围
carries chain phrases with noise (``profiles.synth.chains``); ``labels.csv`` (uscc,
business_scope, tags) holds the noisy chain labels of ``label_share`` of them, to train and
evaluate the tag model (``profiles.tags``).

The same seed gives the same files, byte for byte; the enterprise and person streams are
independent, so the number of persons does not change the enterprises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from profiles.catalog import load_catalog
from profiles.synth.assistance import add_assistance_fields
from profiles.synth.awards import AWARDS_FILE, little_giant_awards
from profiles.synth.cit_income import add_cit_income_fields
from profiles.synth.enterprises import LABELS
from profiles.synth.enterprises import enterprises as make_enterprises
from profiles.synth.links import employment_links, households
from profiles.synth.national import add_enterprise_fields, add_person_fields
from profiles.synth.persons import persons as make_persons
from profiles.synth.special_zones import add_talent_fields, add_zone_fields
from profiles.synth.tax_relief import add_enterprise_tax_fields, add_person_deduction_fields
from profiles.synth.yearly import yearly_panel

LABELS_FILE = "labels.csv"
"""The labelled chain-tag sample written beside the enterprise extracts."""

REFERENCE_DATE = date(2026, 1, 1)
"""The day the synthetic extracts describe (dates lie before it)."""

# department -> (encoding, header style: catalog 'name' or Chinese 'label')
FILE_STYLES: dict[str, dict[str, tuple[str, str]]] = {
    "enterprise": {
        "市场监管": ("utf-8", "name"),
        "税务": ("gb18030", "label"),
        "科技": ("utf-8", "name"),
        "工信": ("utf-8", "label"),
        "人社": ("utf-8", "label"),
        "退役军人事务": ("utf-8", "label"),
        "残联": ("gb18030", "name"),
        "发改": ("utf-8", "label"),
    },
    "person": {
        "公安": ("utf-8", "name"),
        "残联": ("gb18030", "label"),
        "民政": ("gb18030", "label"),
        "人社": ("utf-8", "name"),
        "卫健": ("utf-8", "label"),
        "本人": ("utf-8", "name"),
        "教育": ("utf-8", "label"),
        "退役军人事务": ("gb18030", "label"),
        "住建": ("utf-8", "label"),
        "医保": ("gb18030", "name"),
        "税务": ("utf-8", "label"),
        "市场监管": ("utf-8", "label"),
        "科技": ("gb18030", "label"),
    },
}

# (department, field, corrupted value or None for "conflicting duplicate")
CORRUPTIONS: dict[str, tuple[tuple[str, str, str | None], ...]] = {
    "enterprise": (
        ("市场监管", "uscc", "check"),
        ("市场监管", "district", "44010"),
        ("市场监管", "status", "营业中"),
        ("市场监管", "founded_on", "2023-02-30"),
        ("税务", "employees", "-5"),
        ("税务", "operating_revenue", "十万"),
        ("市场监管", "name", None),
    ),
    "person": (
        ("公安", "id_number", "check"),
        ("公安", "birth_date", "1990-13-01"),
        ("公安", "children_under_3", "-1"),
        ("公安", "alive", "也许"),
        ("公安", "name", None),
    ),
}

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, kw_only=True)
class SynthFile:
    path: Path
    rows: int
    encoding: str


@dataclass(frozen=True, kw_only=True)
class SynthReport:
    out_dir: Path
    seed: int
    enterprises: int
    persons: int
    bad_rows: int
    files: tuple[SynthFile, ...]
    labels: SynthFile | None = None
    awards: SynthFile | None = None  # award history of an earlier system (profiles.synth.awards)


def _as_text(frame: pl.DataFrame, *, yes_no: bool) -> pl.DataFrame:
    out = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Boolean:
            yes, no = ("是", "否") if yes_no else ("true", "false")
            out.append(
                pl.when(pl.col(name))
                .then(pl.lit(yes))
                .when(~pl.col(name))
                .then(pl.lit(no))
                .alias(name)
            )
        else:
            out.append(pl.col(name).cast(pl.String))
    return frame.select(out)


def _corrupt(texts: dict[str, pl.DataFrame], entity: str, k: int, rng: np.random.Generator) -> None:
    specs = CORRUPTIONS[entity]
    for i in range(k):
        dept, field, bad = specs[i % len(specs)]
        frame = texts[dept]
        row = int(rng.integers(0, frame.height))
        if bad is None:  # a conflicting duplicate of this row
            copy = frame.slice(row, 1).with_columns(pl.lit("冲突副本").alias(field))
            texts[dept] = pl.concat([frame, copy])
            continue
        if bad == "check":
            old = frame[field][row]
            bad = old[:-1] + ("1" if old[-1] != "1" else "2")
        texts[dept] = frame.with_columns(
            pl.when(pl.int_range(pl.len()) == row)
            .then(pl.lit(bad))
            .otherwise(pl.col(field))
            .alias(field)
        )


def _write(texts: dict[str, pl.DataFrame], entity: str, out_dir: Path) -> list[SynthFile]:
    cat = load_catalog().entity(entity)
    files = []
    for dept, frame in texts.items():
        encoding, header = FILE_STYLES[entity][dept]
        if header == "label":
            frame = frame.rename({c: cat.field(c).label for c in frame.columns})
        path = out_dir / f"{entity}_{dept}.csv"
        path.write_bytes(frame.write_csv(null_value="").encode(encoding))
        files.append(SynthFile(path=path, rows=frame.height, encoding=encoding))
    return files


def _write_yearly(frames: dict[str, pl.DataFrame], out_dir: Path, *, seed: int, step: int,
                  reference: date, bad_rows: int) -> SynthFile:
    """The 税务 panel of annual figures (``profiles.yearly``), GB18030 with Chinese headers
    like the scalar 税务 extract; with ``bad_rows``, one revenue cell is not a number."""
    rng = np.random.default_rng([seed, step, 17])  # the other extracts stay as they were
    panel = yearly_panel(rng, frames["税务"], frames["市场监管"]["founded_on"],
                         reference=reference)
    text = _as_text(panel, yes_no=True)
    if bad_rows and text.height:
        row = int(rng.integers(0, text.height))
        text = text.with_columns(pl.when(pl.int_range(pl.len()) == row).then(pl.lit("约300万"))
                                 .otherwise(pl.col("operating_revenue"))
                                 .alias("operating_revenue"))
    cat = load_catalog().entity("enterprise")
    text = text.rename({c: "年度" if c == "year" else cat.field(c).label for c in text.columns})
    path = out_dir / "yearly_enterprise_税务.csv"
    path.write_bytes(text.write_csv(null_value="").encode("gb18030"))
    return SynthFile(path=path, rows=text.height, encoding="gb18030")


def _write_links(made: dict[str, dict[str, pl.DataFrame]], out_dir: Path, *,
                 rng: np.random.Generator, reference: date) -> list[SynthFile]:
    """The household register (with persons) and employment links (with both)."""
    if "person" not in made:
        return []
    police = made["person"]["公安"]
    tables = {"households_公安": households(rng, police["id_number"], police["birth_date"],
                                            reference=reference)}
    if "enterprise" in made:
        firms = made["enterprise"]["市场监管"].select("uscc").join(
            made["enterprise"]["税务"].select("uscc", "employees"), on="uscc", how="left")
        tables["employment_links_人社"] = employment_links(
            rng, firms["uscc"], firms["employees"], police["id_number"], police["birth_date"],
            reference=reference)
    files = []
    for stem, frame in tables.items():
        path = out_dir / f"{stem}.csv"
        path.write_bytes(frame.write_csv(null_value="").encode("utf-8"))
        files.append(SynthFile(path=path, rows=frame.height, encoding="utf-8"))
    return files


def synthesize(
    out_dir: Path,
    *,
    enterprises: int,
    persons: int,
    seed: int = 0,
    bad_rows: int = 0,
    reference: date = REFERENCE_DATE,
    label_share: float = 0.2,
    progress: Progress | None = None,
) -> SynthReport:
    """Write the extracts of ``enterprises`` enterprises and ``persons`` persons to ``out_dir``,
    and ``labels.csv`` for ``label_share`` of the enterprises (none when 0)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files: list[SynthFile] = []
    labels_file: SynthFile | None = None
    plan: list[tuple[str, int, Callable[..., dict[str, pl.DataFrame]]]] = [
        ("enterprise", enterprises, make_enterprises),
        ("person", persons, make_persons),
    ]
    made: dict[str, dict[str, pl.DataFrame]] = {}
    for step, (entity, count, make) in enumerate(plan):
        if count <= 0:
            continue
        rng = np.random.default_rng([seed, step])
        extra = {"label_share": label_share} if entity == "enterprise" else {}
        frames = make(rng, count, reference=reference, **extra)
        national = np.random.default_rng([seed, step, 16])  # the other columns stay as they were
        relief = np.random.default_rng([seed, step, 161])
        zones = np.random.default_rng([seed, step, 162])
        assistance = np.random.default_rng([seed, step, 164])
        if entity == "enterprise":
            add_enterprise_fields(frames, national)
            add_enterprise_tax_fields(frames, relief)
            add_zone_fields(frames, zones, reference=reference)
            add_cit_income_fields(frames, np.random.default_rng([seed, step, 163]),
                                  reference=reference)
        else:
            add_person_fields(frames, national, reference=reference)
            add_person_deduction_fields(frames, relief, reference=reference)
            add_assistance_fields(frames, assistance, reference=reference)
            add_talent_fields(frames, zones)
        made[entity] = {dept: frame for dept, frame in frames.items() if dept != LABELS}
        labels = frames.pop(LABELS, None)
        if labels is not None and label_share > 0:
            path = out_dir / LABELS_FILE
            path.write_bytes(labels.write_csv(null_value="").encode("utf-8"))
            labels_file = SynthFile(path=path, rows=labels.height, encoding="utf-8")
        texts = {
            dept: _as_text(frame, yes_no=FILE_STYLES[entity][dept][1] == "label")
            for dept, frame in frames.items()
        }
        if bad_rows:
            _corrupt(texts, entity, bad_rows, np.random.default_rng([seed, step, 99]))
        files.extend(_write(texts, entity, out_dir))
        if entity == "enterprise":
            files.append(_write_yearly(frames, out_dir, seed=seed, step=step,
                                       reference=reference, bad_rows=bad_rows))
        if progress:
            progress(entity, step + 1, len(plan))
    files.extend(_write_links(made, out_dir, rng=np.random.default_rng([seed, len(plan)]),
                              reference=reference))
    awards: SynthFile | None = None
    if "enterprise" in made:  # what an earlier system paid: imported into the award ledger
        paid = little_giant_awards(np.random.default_rng([seed, len(plan), 1]),
                                   made["enterprise"]["市场监管"], made["enterprise"]["工信"])
        path = out_dir / AWARDS_FILE
        path.write_bytes(paid.write_csv().encode("utf-8"))
        awards = SynthFile(path=path, rows=paid.height, encoding="utf-8")
    return SynthReport(
        out_dir=out_dir,
        seed=seed,
        enterprises=max(enterprises, 0),
        persons=max(persons, 0),
        bad_rows=bad_rows,
        files=tuple(files),
        labels=labels_file,
        awards=awards,
    )
