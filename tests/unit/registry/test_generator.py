"""Synthetic registry data: deterministic, always valid, realistic mixes; portraits look like ID photos."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from edl.domain import Licence
from edl.registry.files import RegistryFile
from edl.registry.formats import COLUMNS, RowParser
from edl.registry.generator import generate, photos_by_default
from edl.registry.portraits import HEIGHT, WIDTH, render_portrait
from edl.storage.photos import FilePhotoStore, photo_ref

AS_OF = date(2026, 11, 25)


def licences(path: Path) -> list[Licence]:
    """Every record of `path`, parsed as the importer would (raises on any rejected row)."""
    parser = RowParser(AS_OF)
    out = []
    with RegistryFile(path) as f:
        for line, _, fields, error in f.records():
            assert error is None, (line, error)
            assert fields is not None
            out.append(parser.licence(fields))
    return out


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> list[Licence]:
    path = tmp_path_factory.mktemp("gen") / "sample.csv"
    generate(path, 3000, seed=11, as_of=AS_OF)
    return licences(path)


def test_same_seed_gives_the_same_file_and_another_seed_another(tmp_path: Path) -> None:
    a, b, c = (tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv")
    generate(a, 500, seed=1, as_of=AS_OF)
    generate(b, 500, seed=1, as_of=AS_OF)
    generate(c, 500, seed=2, as_of=AS_OF)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()


def test_every_generated_row_is_valid_and_numbers_are_unique(sample: list[Licence]) -> None:
    assert len(sample) == 3000
    assert len({lic.number for lic in sample}) == 3000
    assert len({lic.file_number for lic in sample}) == 3000


def test_generated_drivers_are_18_to_75_and_licensed_after_18(sample: list[Licence]) -> None:
    ages = [(AS_OF - lic.holder.birth_date).days / 365.25 for lic in sample]
    assert min(ages) >= 18 and max(ages) <= 75.01
    assert all(lic.first_issue.year - lic.holder.birth_date.year >= 18 for lic in sample)


def test_the_mix_looks_like_a_registry(sample: list[Licence]) -> None:
    classes = Counter("".join(c.value for c in lic.classes) for lic in sample)
    assert classes["C1"] > 0.4 * len(sample) and classes["C2"] > 0.1 * len(sample)
    assert {"A1", "A2", "B2", "E"} <= set(classes)
    terms = Counter(lic.validity.term.value for lic in sample)
    assert all(terms[t] > 100 for t in ("6", "10", "long"))
    names = [lic.holder.name for lic in sample]
    assert {2, 3} <= {len(n) for n in names}
    assert any(n[:2] in ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "慕容") for n in names)
    assert sum(lic.photo_compliant for lic in sample) / len(sample) == pytest.approx(0.7, abs=0.05)
    assert any(lic.points for lic in sample)


def test_some_records_are_ineligible_for_an_e_licence(sample: list[Licence]) -> None:
    refused = [lic for lic in sample if not lic.eligibility(AS_OF).eligible]
    reasons = Counter(code for lic in refused for code, _, _ in lic.eligibility(AS_OF).reasons)
    assert 0.03 * len(sample) < len(refused) < 0.3 * len(sample)
    assert reasons["expired"] > 0 and reasons["status_D"] > 0


def test_addresses_are_in_the_issuing_authoritys_city(sample: list[Licence]) -> None:
    assert all(lic.holder.address.startswith(lic.authority.city) for lic in sample)
    assert all("区" in lic.holder.address and "号" in lic.holder.address for lic in sample)


def test_jsonl_output_carries_the_same_records_with_types(tmp_path: Path) -> None:
    generate(tmp_path / "a.csv", 200, seed=5, as_of=AS_OF)
    generate(tmp_path / "a.jsonl", 200, seed=5, as_of=AS_OF)
    assert licences(tmp_path / "a.csv") == licences(tmp_path / "a.jsonl")
    first = json.loads((tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert list(first) == list(COLUMNS)
    assert isinstance(first["sex"], int) and isinstance(first["photo_compliant"], bool)


def test_csv_header_is_the_documented_column_list(tmp_path: Path) -> None:
    generate(tmp_path / "a.csv", 3, seed=5, as_of=AS_OF)
    with (tmp_path / "a.csv").open(encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == list(COLUMNS)


def test_every_holder_gets_a_stored_photo_white_when_compliant_blue_otherwise(tmp_path: Path) -> None:
    store = FilePhotoStore(tmp_path / "photos")
    report = generate(tmp_path / "a.csv", 60, seed=3, as_of=AS_OF, photos=store)
    everyone = list(licences(tmp_path / "a.csv"))
    assert report.photos == len(everyone) == 60 and all(lic.photo_ref for lic in everyone)
    compliant = [lic for lic in everyone if lic.photo_compliant]
    old = [lic for lic in everyone if not lic.photo_compliant]
    assert compliant and old
    assert store.get(compliant[0].photo_ref or "") == render_portrait(3, str(compliant[0].number))
    blue = Image.open(io.BytesIO(store.get(old[0].photo_ref or ""))).convert("RGB").getpixel((3, 3))
    assert blue[2] > blue[0] + 40, "an old, non-compliant photo has the blue background"


def test_photos_default_on_for_small_files_only() -> None:
    assert photos_by_default(20_000) and not photos_by_default(20_001)


def test_portrait_is_a_358_by_441_jpeg_on_a_white_background() -> None:
    data = render_portrait(1, "11010519491231002X")
    img = Image.open(io.BytesIO(data))
    assert (img.format, img.size, img.mode) == ("JPEG", (WIDTH, HEIGHT), "RGB")
    grey = img.convert("L")
    top = [grey.getpixel((x, y)) for x in range(0, WIDTH, 7) for y in range(0, 20, 3)]
    sides = [grey.getpixel((x, y)) for x in (0, 1, WIDTH - 2, WIDTH - 1) for y in range(0, 250, 5)]
    assert min(top + sides) >= 235
    centre = [grey.getpixel((WIDTH // 2 + dx, 190 + dy)) for dx in (-20, 0, 20) for dy in (-20, 0, 20)]
    assert max(centre) < 250, "a face in the middle, not an empty picture"
    bottom = [grey.getpixel((WIDTH // 2 + dx, HEIGHT - 5)) for dx in (-60, 0, 60)]
    assert max(bottom) < 100, "dark clothes at the bottom"


def test_portraits_are_deterministic_and_vary_by_holder() -> None:
    a = render_portrait(7, "11010519491231002X")
    assert a == render_portrait(7, "11010519491231002X")
    others = {photo_ref(render_portrait(7, f"1101051990010100{i}1")) for i in range(10)}
    assert len(others) == 10
    assert render_portrait(8, "11010519491231002X") != a
