"""The link tables' check (``profiles.relations.validate_table``) against peers, in one run:

    python -m bench.link_tables --enterprises 100000 --persons 200000 --repeat 3 --json out.json

Synthesised sources (``profiles.synth``) give the employment links and the household
register as the nightly run reads them (CSV, text). Each is read once (``read_source``),
then timed, ``--repeat`` times, median recorded:

- ``mianshen``: ``validate_table``, every value parsed with its reject reason, personal
  values masked in the rejects, repeated rows merged, household conflicts found;
- ``duckdb``: the same columns typed by DuckDB (``TRY_CAST`` / ``TRY_STRPTIME``) from the
  same frame, without reasons, masks or conflicts: what typing alone costs a peer;
- ``lower bound``: polars' own casts of the same columns (``str.to_date`` with one format,
  ``cast``): the least a typed copy of the text costs here.

The ratios to both are recorded with the machine. Run it on two commits to compare.
"""

from __future__ import annotations

import argparse
import functools
import json
import tempfile
from pathlib import Path
from typing import Any

import polars as pl

from bench.events import machine
from bench.profile_plan import median_seconds

TYPES = {"hired_on": "date", "left_on": "date", "insured_months": "int", "wage_base": "float"}


def _lower_bound(frame: pl.DataFrame) -> pl.DataFrame:
    typed = {"date": lambda c: c.str.to_date("%Y-%m-%d", strict=False),
             "int": lambda c: c.cast(pl.Int64, strict=False),
             "float": lambda c: c.cast(pl.Float64, strict=False)}
    return frame.select(typed[TYPES[c]](pl.col(c).cast(pl.String)) if c in TYPES
                        else pl.col(c).cast(pl.String).str.to_uppercase()
                        for c in frame.columns)


def _duckdb(frame: pl.DataFrame) -> pl.DataFrame:
    import duckdb

    sql = {"date": "TRY_STRPTIME(\"{c}\", '%Y-%m-%d')::DATE", "int": "TRY_CAST(\"{c}\" AS BIGINT)",
           "float": "TRY_CAST(\"{c}\" AS DOUBLE)"}
    cols = ", ".join((sql[TYPES[c]] if c in TYPES else "UPPER(\"{c}\")").format(c=c)
                     + f' AS "{c}"' for c in frame.columns)
    text = frame.select(pl.all().cast(pl.String))
    con = duckdb.connect()
    try:
        con.register("links", text.to_arrow())
        return con.sql(f"SELECT {cols} FROM links").pl()
    finally:
        con.close()


def run(*, enterprises: int, persons: int, repeat: int, seed: int) -> list[dict[str, Any]]:
    from profiles.relations import table_name, validate_table
    from profiles.sources import read_source
    from profiles.synth import synthesize

    records: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        synthesize(Path(tmp), enterprises=enterprises, persons=persons, seed=seed,
                   label_share=0)
        for path in sorted(Path(tmp).glob("*.csv")):
            table = table_name(path)
            if table is None:
                continue
            frame, _ = read_source(path)
            result = validate_table(frame, table=table, source=path.stem)  # warm-up
            ours = median_seconds(functools.partial(validate_table, frame, table=table,
                                             source=path.stem), repeat)
            duck = median_seconds(functools.partial(_duckdb, frame), repeat)
            bound = median_seconds(functools.partial(_lower_bound, frame), repeat)
            records.append({
                "table": table, "rows": frame.height, "rejected": result.rejects.height,
                "mianshen_s": round(ours, 3), "duckdb_s": round(duck, 3),
                "lower_bound_s": round(bound, 3),
                "vs_duckdb": round(ours / duck, 2), "vs_lower_bound": round(ours / bound, 2),
            })
    return records


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enterprises", type=int, default=100_000)
    ap.add_argument("--persons", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    records = run(enterprises=args.enterprises, persons=args.persons, repeat=args.repeat,
                  seed=args.seed)
    for r in records:
        print(f"{r['table']:<18} {r['rows']:>10,} rows  mianshen {r['mianshen_s']:.2f} s  "
              f"DuckDB {r['duckdb_s']:.2f} s ({r['vs_duckdb']}x)  "
              f"lower bound {r['lower_bound_s']:.2f} s ({r['vs_lower_bound']}x)")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "args": vars(args) | {
            "json": str(args.json)}, "records": records}, ensure_ascii=False, indent=1) + "\n",
            encoding="utf-8")


if __name__ == "__main__":
    main()
