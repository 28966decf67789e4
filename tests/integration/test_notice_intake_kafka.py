"""Notice intake on the session's real Kafka broker: exactly the accepted notices arrive.

``tutka notices import FILE.xlsx --kafka`` as a real process on a 1,000-row sheet with 100 bad
rows, and an analyst's upload to a ``tutka room --kafka``, retried: each reads its notices topic
back from the beginning and finds every accepted notice once, keyed by municipality, and
nothing of a rejected row; the rejected rows are reported by line, in Finnish and English.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.room import Room
from tests.notice_sheets import csv_bytes, good_row, workbook
from tutka.config.areas import load_hierarchy
from tutka.inputs.notice_sheet import parse_sheet
from tutka.worker.topics import Topics

ReadTopic = Callable[..., list[Any]]
ROOT = Path(__file__).resolve().parents[2]


def test_notices_import_kafka_publishes_exactly_the_accepted_rows(
    kafka_bootstrap: str, topic_prefix: str, read_topic: ReadTopic, tmp_path: Path
) -> None:
    sheet = tmp_path / "ely15-2024.xlsx"
    bad = workbook(sheet)
    expected = parse_sheet(sheet, load_hierarchy())
    accepted = {n.notice_id: n for _, n in expected.notices}
    assert (len(accepted), len(bad)) == (900, 100)
    namespace = f"{topic_prefix}."
    rejected_csv = tmp_path / "rejected.csv"
    env = {**os.environ, "TUTKA_KAFKA__BOOTSTRAP": kafka_bootstrap,
           "TUTKA_KAFKA__NAMESPACE": namespace, "TUTKA_KAFKA__PARTITIONS": "3"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "tutka", "notices", "import", str(sheet), "--kafka",
         "--rejected", str(rejected_csv)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-3000:]  # rows were rejected; the rest was sent
    topic = Topics(namespace).notices
    assert "1000 riviä: 900 ilmoitusta hyväksytty, 100 riviä hylätty, 0 tyhjää" in done.stdout
    assert "1000 rows: 900 notices accepted, 100 rows rejected, 0 blank" in done.stdout
    assert f"900 notices published to {topic}" in done.stdout
    reported = Counter(
        int(line.split()[1].rstrip(":"))
        for line in done.stderr.splitlines()
        if line.startswith("  line ")
    )
    assert reported == Counter(dict.fromkeys(bad, 1))
    assert "  rivi 11: henkilömäärä: puuttuu" in done.stderr
    with rejected_csv.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {int(r["line"]): r["reason_en"] for r in rows}.keys() == bad.keys()
    assert all(bad[int(r["line"])] in r["reason_en"] for r in rows)

    records = read_topic(topic, min_records=900, timeout=60)
    got = [json.loads(r.value) for r in records]
    assert len(got) == 900
    assert Counter(n["notice_id"] for n in got) == Counter(dict.fromkeys(accepted, 1))
    for record, notice in zip(records, got, strict=True):
        assert record.key.decode() == notice["municipality"]
        assert notice == json.loads(accepted[notice["notice_id"]].model_dump_json())
    assert len({r.partition for r in records}) > 1  # keyed across the topic's partitions


@pytest.fixture
def kafka_room(kafka_bootstrap: str, topic_prefix: str, tmp_path: Path) -> Iterator[Room]:
    env = {
        "TUTKA_KAFKA__BOOTSTRAP": kafka_bootstrap,
        "TUTKA_KAFKA__NAMESPACE": f"{topic_prefix}.",
        "TUTKA_KAFKA__PARTITIONS": "3",
        "TUTKA_ROOM__DATA_DIR": str(tmp_path / "unused"),
    }
    room = Room(["--kafka"], env, tmp_path / "room.log")
    try:
        room.wait_ready(timeout=90)
        yield room
    finally:
        room.stop()
        assert "Traceback" not in room.text(), room.text()[-4000:]


def test_a_room_upload_reaches_the_notices_topic_once(
    kafka_room: Room, topic_prefix: str, read_topic: ReadTopic
) -> None:
    rows = [good_row(i, 240 if i % 3 else "KU091", seed=9) for i in range(30)]
    rows[4][6] = "viisi"  # one bad row inside the area
    body = csv_bytes(rows)
    lappi = kafka_room.auth("Demo analyst (Lappi)")

    def send(lang: str) -> dict[str, Any]:
        response = httpx.post(
            f"{kafka_room.base}/api/notices/imports",
            params={"filename": "lappi.csv", "lang": lang},
            content=body, headers={**lappi, "Idempotency-Key": "kafka-upload-0001"}, timeout=60,
        )  # fmt: skip
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    first = send("fi")
    topic = Topics(f"{topic_prefix}.").notices
    assert (first["rows"], first["accepted"], first["rejected"]) == (30, 19, 11)
    assert first["published_to"] == topic and first["repeated"] is False
    out_of_scope = [r for r in first["rejected_rows"] if "ei kuulu alueeseesi" in r["reason"]]
    assert [r["line"] for r in out_of_scope] == [i + 2 for i in range(0, 30, 3)]
    assert {r["line"]: r["reason"] for r in first["rejected_rows"]}[6] == (
        "henkilömäärä: ei ole kokonaisluku"
    )
    again = send("en")  # the answer was lost, say: the same key again
    assert again["repeated"] is True and again["accepted"] == 19
    assert "is outside your area (ELY15)" in again["rejected_rows"][0]["reason"]

    records = read_topic(topic, min_records=19, idle=2.0, timeout=60)
    notices = [json.loads(r.value) for r in records]
    assert sorted(n["notice_id"] for n in notices) == sorted(
        f"ELY15-2024-{i:04d}" for i in range(30) if i % 3 and i != 4
    )
    assert {n["municipality"] for n in notices} == {"KU240"}
    metrics = httpx.get(f"{kafka_room.base}/metrics", timeout=10).text
    for outcome, n in (("accepted", 19), ("rejected", 11), ("blank", 0)):
        assert f'tutka_room_notice_rows_total{{outcome="{outcome}"}} {n}.0' in metrics
    assert 'tutka_room_notice_uploads_total{outcome="repeated"} 1.0' in metrics
