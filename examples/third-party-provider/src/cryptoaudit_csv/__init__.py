"""A third-party provider: keys listed in a CSV spreadsheet (the inventory many teams keep).

Columns: id, algorithm, size, kind, created (ISO date), owner (the accountable team), tier (a
risk-tier override). Each row becomes a key record whose tags the core reads as it reads any
service's tags; a row that does not parse becomes a discovery error for that row.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from pytest_cryptoaudit import Provider, ProviderOptions


class CsvInventoryOptions(ProviderOptions):
    path: str


class CsvInventoryProvider(Provider):
    name = "csv-inventory"
    component = "other"
    Options = CsvInventoryOptions

    def discover(self, system, context):
        attempt = self.new_discovery(system, source="csv")
        path = Path(system.options.path)
        path = path if path.is_absolute() else context.base_dir / path
        try:
            rows = list(csv.DictReader(path.open(newline="")))
        except OSError as exc:
            attempt.error(f"cannot read {path}: {exc.strerror}")
            return attempt
        for number, row in enumerate(rows, start=2):
            uid = f"csv:{row.get('id') or f'row-{number}'}"
            try:
                created = datetime.fromisoformat(row["created"]).replace(tzinfo=UTC)
                attempt.add_key(
                    uid, row["kind"], algorithm=row["algorithm"], size=int(row["size"]),
                    created=created,
                    tags={k: v for k, v in (("owner", row.get("owner")),
                                            ("cryptoaudit:risk-tier", row.get("tier"))) if v},
                    attributes={"row": number},
                )
            except (KeyError, ValueError) as exc:
                attempt.error(f"{path.name} row {number}: {exc}", key_uid=uid)
        return attempt
