"""The room's notice upload: every row accounted for, in scope, once, and only for analysts."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.notice_sheets import BAD, csv_bytes, good_row, workbook_bytes
from tests.unit.room.conftest import auth, users
from tutka.config.settings import RoomSettings, WebhookSettings
from tutka.room.api import create_app
from tutka.room.intake import EmbeddedOutlet
from tutka.room.service import Service

UPLOAD = "/api/notices/imports"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def outlet(service: Service, tmp_path: Path) -> EmbeddedOutlet:
    outlet = EmbeddedOutlet(tmp_path / "room" / "notices.jsonl")
    service.notices = outlet
    return outlet


@pytest.fixture
def small_limit_client(service: Service) -> Iterator[TestClient]:
    settings = RoomSettings(max_body_bytes=1024, max_upload_bytes=200_000)
    with TestClient(create_app(service, users(), WebhookSettings(), settings)) as client:
        yield client


def upload(client: TestClient, user: str, body: bytes, key: str, filename: str = "notices.csv",
           lang: str = "fi") -> dict[str, object]:  # fmt: skip
    response = client.post(
        UPLOAD, params={"filename": filename, "lang": lang}, content=body,
        headers={**auth(user), "Idempotency-Key": key, "Content-Type": "text/csv"},
    )  # fmt: skip
    return {"status": response.status_code, **response.json()}


def stored(outlet: EmbeddedOutlet) -> list[dict[str, object]]:
    if not outlet.store.exists():
        return []
    return [json.loads(line) for line in outlet.store.read_text(encoding="utf-8").splitlines()]


def queued(outlet: EmbeddedOutlet) -> int:
    return sum(len(outlet.inbox.get_nowait()) for _ in range(outlet.inbox.qsize()))


def rows_metric(service: Service, outcome: str) -> float:
    value = service.metrics.registry.get_sample_value(
        "tutka_room_notice_rows_total", {"outcome": outcome}
    )
    return value or 0.0


def test_a_thousand_rows_ten_percent_bad_in_finnish_then_a_retry_in_english(
    client: TestClient, service: Service, outlet: EmbeddedOutlet, tmp_path: Path
) -> None:
    """Done-when of #17: 900 published, 100 rejected by line and reason, in fi and in en; the
    retry (same Idempotency-Key) answers the same and publishes nothing again."""
    body, expected = workbook_bytes(tmp_path / "ely15.xlsx")
    fi = upload(client, "national", body, "retry-key-0001", "ely15.xlsx", "fi")
    assert fi["status"] == 200, fi
    assert (fi["rows"], fi["accepted"], fi["rejected"], fi["blank"]) == (1000, 900, 100, 0)
    assert fi["summary"] == "1000 riviä: 900 ilmoitusta hyväksytty, 100 riviä hylätty, 0 tyhjää"
    assert fi["repeated"] is False
    rejected = fi["rejected_rows"]
    assert isinstance(rejected, list)
    assert {r["line"] for r in rejected} == set(expected)
    by_line = {r["line"]: r for r in rejected}
    for line, reason in expected.items():
        assert [reason in x["en"] for x in by_line[line]["reasons"]].count(True) == 1, line
    assert by_line[2 + 9]["reason"] == "henkilömäärä: puuttuu"  # BAD[0], in Finnish
    assert any("henkilötunnuksen" in r["reason"] for r in rejected)
    assert len(stored(outlet)) == 900 and queued(outlet) == 900

    en = upload(client, "national", body, "retry-key-0001", "ely15.xlsx", "en")
    assert en["status"] == 200 and en["repeated"] is True
    assert en["summary"] == "1000 rows: 900 notices accepted, 100 rows rejected, 0 blank"
    by_line_en = {r["line"]: r["reason"] for r in en["rejected_rows"]}  # type: ignore[union-attr]
    assert set(by_line_en) == set(expected)
    assert all(expected[line] in text for line, text in by_line_en.items())
    assert by_line_en[2 + 9] == BAD[0][2]
    assert len(stored(outlet)) == 900 and queued(outlet) == 0  # nothing sent twice
    assert rows_metric(service, "accepted") == 900 and rows_metric(service, "rejected") == 100
    repeated = service.metrics.registry.get_sample_value(
        "tutka_room_notice_uploads_total", {"outcome": "repeated"}
    )
    assert repeated == 1


def test_rows_outside_the_ely_area_are_rejected_with_the_reason_not_dropped(
    client: TestClient, outlet: EmbeddedOutlet
) -> None:
    rows = [good_row(0, 240), good_row(1, "KU091"), good_row(2, "KU698"), ["", "", ""],
            good_row(3, 91)]  # fmt: skip
    rows[2][6] = "x"  # a bad row inside the area keeps its own reason
    answer = upload(client, "lappi", csv_bytes(rows), "scope-key-0001", lang="en")
    assert answer["status"] == 200, answer
    assert (answer["rows"], answer["accepted"], answer["rejected"], answer["blank"]) == (5, 1, 3, 1)
    reasons = {r["line"]: r["reason"] for r in answer["rejected_rows"]}  # type: ignore[union-attr]
    assert reasons == {
        3: "municipality: KU091 is outside your area (ELY15)",
        4: "persons: is not a whole number",
        6: "municipality: KU091 is outside your area (ELY15)",
    }
    assert [n["municipality"] for n in stored(outlet)] == ["KU240"]
    fi = upload(client, "lappi", csv_bytes(rows), "scope-key-0001", lang="sv")
    assert "hör inte till ditt område" in fi["rejected_rows"][0]["reason"]  # type: ignore[index]


def test_national_staff_may_file_for_any_municipality(
    client: TestClient, outlet: EmbeddedOutlet
) -> None:
    rows = [good_row(0, 240), good_row(1, "KU091")]
    answer = upload(client, "national", csv_bytes(rows), "national-key-01")
    assert (answer["accepted"], answer["rejected"]) == (2, 0)


@pytest.mark.parametrize("user", ["viewer", "lappi-viewer"])
def test_a_viewer_may_not_upload(
    client: TestClient, service: Service, outlet: EmbeddedOutlet, user: str
) -> None:
    answer = upload(client, user, csv_bytes([good_row(0, 240)]), "viewer-key-0001")
    assert answer["status"] == 403
    assert "may not submit notices" in str(answer["detail"])
    assert stored(outlet) == [] and rows_metric(service, "accepted") == 0


def test_without_a_token_nothing_is_read(client: TestClient, outlet: EmbeddedOutlet) -> None:
    response = client.post(UPLOAD, params={"filename": "a.csv"}, content=b"x",
                           headers={"Idempotency-Key": "no-token-key-1"})  # fmt: skip
    assert response.status_code == 401 and stored(outlet) == []


def test_the_same_key_with_another_file_is_a_conflict(
    client: TestClient, outlet: EmbeddedOutlet
) -> None:
    assert upload(client, "lappi", csv_bytes([good_row(0, 240)]), "conflict-key-1")["status"] == 200
    again = upload(client, "lappi", csv_bytes([good_row(1, 240)]), "conflict-key-1")
    assert again["status"] == 409
    assert len(stored(outlet)) == 1
    # Another user's key is their own: the same string does not collide.
    other = upload(client, "national", csv_bytes([good_row(1, 240)]), "conflict-key-1")
    assert other["status"] == 200 and len(stored(outlet)) == 2


def test_a_missing_or_malformed_key_or_name_is_refused(
    client: TestClient, outlet: EmbeddedOutlet
) -> None:
    body = csv_bytes([good_row(0, 240)])
    no_key = client.post(UPLOAD, params={"filename": "a.csv"}, content=body, headers=auth("lappi"))
    assert no_key.status_code == 422
    assert upload(client, "lappi", body, "short")["status"] == 422
    assert upload(client, "lappi", body, "good-key-0001", filename="notices.pdf")["status"] == 422
    assert upload(client, "lappi", body, "good-key-0002", filename="../x.csv")["status"] == 422
    assert stored(outlet) == []


def test_a_file_that_is_no_spreadsheet_is_refused_whole(
    client: TestClient, service: Service, outlet: EmbeddedOutlet
) -> None:
    answer = upload(client, "lappi", b"PK\x03\x04 not a workbook", "broken-key-01", "a.xlsx")
    assert answer["status"] == 422 and "cannot read the workbook" in str(answer["detail"])
    assert stored(outlet) == []
    # A retry with the file fixed, under the same key, is read afresh (nothing was kept).
    fixed = upload(client, "lappi", csv_bytes([good_row(0, 240)]), "broken-key-01")
    assert fixed["status"] == 200 and fixed["accepted"] == 1


def test_the_upload_has_its_own_body_limit(
    small_limit_client: TestClient, outlet: EmbeddedOutlet
) -> None:
    """The room's usual 1 KiB limit does not apply to the upload; the upload's own does."""
    rows = [good_row(i, 240) for i in range(40)]
    body = csv_bytes(rows)
    assert 1024 < len(body) < 200_000
    answer = upload(small_limit_client, "lappi", body, "limit-key-0001")
    assert answer["status"] == 200 and answer["accepted"] == 40
    too_big = upload(small_limit_client, "lappi", body * 60, "limit-key-0002")
    assert too_big["status"] == 413 and len(stored(outlet)) == 40
    other = small_limit_client.put("/api/subscriptions/x-1", content=b"x" * 2000,
                                   headers=auth("lappi"))  # fmt: skip
    assert other.status_code == 413


def test_the_rejected_rows_download_as_csv_for_their_sender_only(
    client: TestClient, outlet: EmbeddedOutlet
) -> None:
    rows = [good_row(0, 240), good_row(1, "KU091"), good_row(2, 240)]
    rows[2][2] = "=HYPERLINK(1)"  # a bad business id that a spreadsheet would run
    rows[2][0] = "=cmd"
    answer = upload(client, "lappi", csv_bytes(rows), "download-key-1")
    path = f"{UPLOAD}/{answer['id']}/rejected.csv"
    response = client.get(path, headers=auth("lappi"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="notices-rejected.csv"' in response.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0] == ["line", "notice_id", "reason_fi", "reason_sv", "reason_en"]
    assert [r[0] for r in table[1:]] == ["3", "4"]
    assert table[2][1] == "'=cmd"  # kept as text, never a formula
    assert table[1][4] == "municipality: KU091 is outside your area (ELY15)"
    assert client.get(path, headers=auth("national")).status_code == 404
    assert client.get(path, headers=auth("lappi-viewer")).status_code == 403


def test_a_room_without_an_outlet_takes_no_uploads(client: TestClient) -> None:
    answer = upload(client, "lappi", csv_bytes([good_row(0, 240)]), "no-outlet-key1")
    assert answer["status"] == 503


def test_a_corrupt_workbook_inside_a_good_zip_is_refused_not_a_crash(
    client: TestClient, outlet: EmbeddedOutlet, tmp_path: Path
) -> None:
    import zipfile

    body, _ = workbook_bytes(tmp_path / "good.xlsx", rows=5)
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(body)) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.startswith("xl/worksheets/"):
                data = data[: len(data) // 2]  # the sheet's XML cut off mid-row
            target.writestr(item, data)
    answer = upload(client, "lappi", broken.getvalue(), "corrupt-key-01", "a.xlsx")
    assert answer["status"] == 422 and "cannot read the workbook" in str(answer["detail"])
    assert stored(outlet) == []
