import pytest
from hypothesis import given
from hypothesis import strategies as st

from edl.domain import CLASS_TABLE, VehicleClass, format_classes, may_drive, parse_classes
from edl.domain.errors import UnknownVehicleClass

V = VehicleClass

# The table of 公安部令第162号 exactly as the brief prints it: class -> the classes it also permits.
BRIEF = {
    "A1": "A3 B1 B2 C1 C2 C3 C4 M",
    "A2": "B1 B2 C1 C2 C3 C4 C6 M",
    "A3": "C1 C2 C3 C4",
    "B1": "C1 C2 C3 C4 M",
    "B2": "C1 C2 C3 C4 M",
    "C1": "C2 C3 C4",
    "C2": "",
    "C3": "C4",
    "C4": "",
    "C5": "",
    "C6": "",
    "D": "E F",
    "E": "F",
    "F": "",
    "M": "",
    "N": "",
    "P": "",
}


@pytest.mark.parametrize("held", list(V))
@pytest.mark.parametrize("wanted", list(V))
def test_may_drive_every_pair_follows_the_table_as_written(held: V, wanted: V) -> None:
    expected = held is wanted or wanted.value in BRIEF[held.value].split()
    assert held.permits(wanted) is expected
    assert may_drive([held], wanted) is expected


def test_inclusion_is_not_closed_transitively() -> None:
    # A1 permits A3, and A3 permits C1..C4; A1 does not inherit anything beyond its own row.
    assert V.A1.permits(V.A3)
    assert not V.A1.permits(V.C6)
    assert V.A2.permits(V.C6)
    assert not V.C1.permits(V.C5)
    assert not V.A1.permits(V.D)


def test_every_class_has_names_and_an_iso_category() -> None:
    assert set(CLASS_TABLE) == set(V)
    for info in CLASS_TABLE.values():
        assert info.name_zh and info.name_en and info.iso_category


@pytest.mark.parametrize(
    ("text", "codes"),
    [("A2D", ["A2", "D"]), ("C1 E", ["C1", "E"]), ("c1,c2", ["C1", "C2"]), ("DA1", ["A1", "D"]), ("C1C1", ["C1"])],
)
def test_parse_classes_as_printed_on_cards(text: str, codes: list[str]) -> None:
    assert [c.value for c in parse_classes(text)] == codes


@pytest.mark.parametrize("text", ["", "Z", "C7", "A4", "ＣＩ"])
def test_unknown_classes_are_refused(text: str) -> None:
    with pytest.raises(UnknownVehicleClass):
        parse_classes(text)


@given(st.sets(st.sampled_from(list(V)), min_size=1))
def test_format_then_parse_round_trips(classes: set[V]) -> None:
    assert set(parse_classes(format_classes(classes))) == classes


@given(st.sets(st.sampled_from(list(V)), min_size=1), st.sampled_from(list(V)))
def test_holding_more_classes_never_permits_less(classes: set[V], extra: V) -> None:
    for wanted in V:
        if may_drive(classes, wanted):
            assert may_drive(classes | {extra}, wanted)
