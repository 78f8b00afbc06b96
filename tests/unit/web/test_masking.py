"""Log lines never carry a full ID number or name."""

from __future__ import annotations

from urllib.parse import quote

from edl.web.masking import mask_number, mask_numbers_in, mask_query, mask_text

NUMBER = "11010519491231002X"


def test_mask_number_keeps_only_a_short_prefix_and_suffix() -> None:
    masked = mask_number(NUMBER)
    assert masked == "110*************2X"
    assert len(masked) == len(NUMBER)
    assert mask_number("1234") == "****"


def test_numbers_inside_paths_are_masked() -> None:
    assert mask_numbers_in(f"/registry/{NUMBER}/photo") == "/registry/110*************2X/photo"
    assert mask_numbers_in("/registry?page=12") == "/registry?page=12"  # short numbers are not personal


def test_names_are_reduced_to_the_first_character() -> None:
    assert mask_text("张三丰") == "张**"
    assert mask_text("") == ""


def test_query_strings_mask_free_text_and_numbers() -> None:
    logged = mask_query(f"q={quote('李四')}&page=2&lang=en")
    assert "李四" not in logged and quote("李四") not in logged
    assert "page=2" in logged and "lang=en" in logged
    assert NUMBER not in mask_query(f"q={NUMBER}")
    assert NUMBER not in mask_query(f"other={NUMBER}")
    assert mask_query("") == ""
