"""Named baselines on disk: save, load, list, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streamtestbench.slo.baselines import (
    DEFAULT_DIR,
    BaselineError,
    BaselineStore,
    load_results_file,
    resolve_baseline,
)
from streamtestbench.slo.compare import compare

FIXTURE = Path(__file__).parent / "fixtures" / "demo_results.json"


def test_round_trip_and_list(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path / "b")
    assert store.names() == [] and store.list() == []
    results = json.loads(FIXTURE.read_text())
    path = store.save("main", results)
    assert path == tmp_path / "b" / "main.json"
    assert store.load("main") == results
    store.save("release-1.2", {"scenarioName": "x", "p95LatencyMs": 1.0})
    assert store.names() == ["main", "release-1.2"]
    infos = store.list()
    assert [i.name for i in infos] == ["main", "release-1.2"]
    assert infos[0].scenario == results["scenarioName"]
    assert infos[1].saved_bytes > 0
    # a loaded baseline compares like any results file
    assert compare(store.load("main"), results).verdict == "no significant change"
    assert not list((tmp_path / "b").glob("*.tmp"))


def test_overwrite_and_delete(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path)
    store.save("a", {"v": 1})
    store.save("a", {"v": 2})
    assert store.load("a") == {"v": 2}
    with pytest.raises(BaselineError, match="already exists"):
        store.save("a", {"v": 3}, overwrite=False)
    store.delete("a")
    with pytest.raises(BaselineError, match="no baseline named 'a'"):
        store.delete("a")


def test_missing_name_lists_available(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path)
    with pytest.raises(BaselineError, match=r"no baseline named 'main' \(no baselines saved in"):
        store.load("main")
    store.save("nightly", {})
    with pytest.raises(BaselineError, match=r"no baseline named 'main' \(available: nightly\)"):
        store.load("main")


@pytest.mark.parametrize("name", ["", "../etc", "a/b", ".hidden", "x" * 200, "sp ace"])
def test_invalid_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(BaselineError, match="invalid baseline name"):
        BaselineStore(tmp_path).save(name, {})


def test_default_dir_and_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert Path(".streamtestbench/baselines") == DEFAULT_DIR
    BaselineStore().save("main", {"p95LatencyMs": 2.0})
    assert (tmp_path / ".streamtestbench" / "baselines" / "main.json").is_file()
    assert resolve_baseline("main") == {"p95LatencyMs": 2.0}
    f = tmp_path / "run.json"
    f.write_text(json.dumps({"p95LatencyMs": 3.0}))
    assert resolve_baseline(str(f)) == {"p95LatencyMs": 3.0}
    with pytest.raises(BaselineError, match="does not exist"):
        resolve_baseline("nope.json")
    with pytest.raises(BaselineError, match="no baseline named 'nope'"):
        resolve_baseline("nope")


def test_load_results_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(BaselineError, match="not valid JSON"):
        load_results_file(bad)
    arr = tmp_path / "arr.json"
    arr.write_text("[1, 2]")
    with pytest.raises(BaselineError, match="expected a JSON object"):
        load_results_file(arr)
