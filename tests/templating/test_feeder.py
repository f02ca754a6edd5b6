from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamtestbench.scenario.data import DataSpec
from streamtestbench.templating import CsvFeeder, FeederError
from streamtestbench.templating.feeder import SEPARATOR

FIXTURES = Path(__file__).parent / "fixtures"


def spec(**fields: object) -> DataSpec:
    return DataSpec.model_validate({"file": "users.csv", **fields})


def test_loads_header_and_quoted_values() -> None:
    feeder = CsvFeeder.load(spec(), FIXTURES)
    assert feeder.fields == ("username", "password", "role")
    assert len(feeder) == 3
    assert feeder.row(1, 0, random.Random(0)) == {"username": "bob", "password": "pass,with,commas", "role": "user"}


def test_sequence_order_depends_only_on_vu_and_iteration() -> None:
    feeder = CsvFeeder.load(spec(), FIXTURES, stride=2)
    picks = [(vu, iteration, feeder.row(vu, iteration, random.Random(vu * 7 + iteration))["username"])
             for vu in range(2) for iteration in range(3)]
    assert picks == [(0, 0, "ann"), (0, 1, "cid"), (0, 2, "bob"), (1, 0, "bob"), (1, 1, "ann"), (1, 2, "cid")]
    again = CsvFeeder.load(spec(), FIXTURES, stride=2)
    assert [again.row(vu, it, random.Random())["username"] for vu, it, _ in picks] == [name for *_, name in picks]


def test_stride_equal_to_the_virtual_users_walks_the_file_without_overlap(tmp_path: Path) -> None:
    (tmp_path / "ids.csv").write_text("id\n" + "".join(f"{n}\n" for n in range(12)))
    feeder = CsvFeeder.load(spec(file="ids.csv"), tmp_path, stride=4)
    seen = [feeder.row(vu, iteration, random.Random())["id"] for iteration in range(3) for vu in range(4)]
    assert seen == [str(n) for n in range(12)]


def test_random_order_draws_from_the_rng() -> None:
    feeder = CsvFeeder.load(spec(order="random"), FIXTURES)
    first = [feeder.row(0, i, rng)["username"] for rng in [random.Random(5)] for i in range(30)]
    second = [feeder.row(0, i, rng)["username"] for rng in [random.Random(5)] for i in range(30)]
    assert first == second
    assert set(first) == {"ann", "bob", "cid"}


def test_fields_name_columns_of_a_file_without_header(tmp_path: Path) -> None:
    (tmp_path / "plain.csv").write_text("ann|admin\n\nbob|user\n")
    feeder = CsvFeeder.load(spec(file="plain.csv", delimiter="|", fields=["name", "role"]), tmp_path)
    assert [feeder.values(index) for index in range(len(feeder))] == [("ann", "admin"), ("bob", "user")]


def test_absolute_paths_ignore_the_base_folder() -> None:
    feeder = CsvFeeder.load(spec(file=str(FIXTURES / "users.csv")), "/nonexistent")
    assert len(feeder) == 3


def test_byte_order_mark_is_not_part_of_the_first_name(tmp_path: Path) -> None:
    (tmp_path / "bom.csv").write_bytes("\ufeffname\nann\n".encode())
    assert CsvFeeder.load(spec(file="bom.csv"), tmp_path).fields == ("name",)


@pytest.mark.parametrize("content, fragment", [
    ("", "the file is empty"),
    ("a,b\n", "header row but no data rows"),
    ("a,b\n1,2\n3\n", "bom.csv:3: 1 values for 2 fields (a, b)"),
    ("a,b\n1,2,3\n", "3 values for 2 fields"),
    ('a,b\n"x\n', "malformed CSV"),
])
def test_unusable_files(tmp_path: Path, content: str, fragment: str) -> None:
    (tmp_path / "bom.csv").write_text(content)
    with pytest.raises(FeederError) as error:
        CsvFeeder.load(spec(file="bom.csv"), tmp_path)
    assert fragment in str(error.value)


def test_missing_file_names_the_resolved_path(tmp_path: Path) -> None:
    with pytest.raises(FeederError, match=f"{tmp_path / 'none.csv'}: file not found"):
        CsvFeeder.load(spec(file="none.csv"), tmp_path)


def test_values_holding_the_separator_are_kept_whole(tmp_path: Path) -> None:
    (tmp_path / "odd.csv").write_text(f"a,b\n1,2\nx{SEPARATOR}y,3\n4,5\n")
    feeder = CsvFeeder.load(spec(file="odd.csv"), tmp_path)
    assert [feeder.values(index) for index in range(3)] == [("1", "2"), (f"x{SEPARATOR}y", "3"), ("4", "5")]
    assert feeder.row(1, 0, random.Random()) == {"a": f"x{SEPARATOR}y", "b": "3"}
    built = CsvFeeder(("a",), [(f"p{SEPARATOR}q",)])
    assert built.row(0, 0, random.Random()) == {"a": f"p{SEPARATOR}q"}


def test_empty_values_survive(tmp_path: Path) -> None:
    (tmp_path / "gaps.csv").write_text("a,b,c\n,,\n1,,3\n")
    feeder = CsvFeeder.load(spec(file="gaps.csv"), tmp_path)
    assert feeder.row(0, 0, random.Random()) == {"a": "", "b": "", "c": ""}
    assert feeder.row(1, 0, random.Random()) == {"a": "1", "b": "", "c": "3"}


def test_an_empty_feeder_cannot_be_built() -> None:
    with pytest.raises(FeederError):
        CsvFeeder(("a",), [])


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=10_000),
       st.integers(min_value=1, max_value=50))
def test_sequence_index_is_always_a_row(vu: int, iteration: int, stride: int) -> None:
    feeder = CsvFeeder(("n",), [(str(n),) for n in range(7)], stride=stride)
    assert feeder.index(vu, iteration, random.Random()) == (vu + iteration * stride) % 7
