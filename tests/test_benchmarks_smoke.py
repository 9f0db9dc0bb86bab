"""The benchmark generator must keep producing files icalpub accepts (benchmarks are not
tests: nothing here measures speed; this only keeps ``benchmarks/generate.py`` from rotting)."""

import importlib.util
from pathlib import Path

from icalpub.load import load_events

GENERATE = Path(__file__).parent.parent / "benchmarks" / "generate.py"


def _generator():
    spec = importlib.util.spec_from_file_location("bench_generate", GENERATE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_file_loads(tmp_path):
    generate = _generator()
    path = tmp_path / "events.yaml"
    path.write_text(generate.generate(50), encoding="utf-8")
    data = load_events(path)
    assert len(data.events) == 50
    assert len(data.topics) == 20 and len(data.organisers) == 50
    assert {e.timezone for e in data.events} == set(generate.ZONES)
    assert all(len(e.topics) == 2 and len(set(e.organisers)) == 2 for e in data.events)
    assert any(e.all_day for e in data.events) and any(e.recurrence for e in data.events)
    assert generate.generate(50) == path.read_text(encoding="utf-8")  # deterministic
