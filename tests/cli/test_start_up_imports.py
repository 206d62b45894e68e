"""What ``modelkeep predict`` and ``modelkeep show`` import before they answer: start-up is most
of a predict's cost (issue 10: within 1.5x of calling the framework directly), so neither may
load the schema's pydantic models, the ingest pipeline, thread pools, tracking, the keep
interface's protocol, or anything of the other commands. Each runs as the console script runs,
in a fresh interpreter, and lists the modules it ended with."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from loader_models import onnx_model, python_model, write_example
from support import cli_run

PROBE = """
import gc, json, sys
from modelkeep.cli.main import main
sys.argv = ["modelkeep", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
    sys.stdout.flush()
    print("MODULES", json.dumps(sorted(sys.modules)), gc.isenabled())
"""

# what no start-up of predict or show needs (each a prefix of module names)
HEAVY = (
    "pydantic", "sqlalchemy", "alembic", "rich", "yaml", "ruamel", "google.protobuf", "psutil",
    "httpx", "starlette", "uvicorn", "fsspec", "pyfastcdc", "concurrent.futures", "socket",
    "hashlib", "logging", "subprocess", "modelkeep.interface", "modelkeep.tracking",
    "modelkeep.schema.types", "modelkeep.schema.metadata", "modelkeep.schema.loading",
    "modelkeep.gateway", "modelkeep.storage.ingest",
    "modelkeep.storage.chunked", "modelkeep.storage.chunkers", "modelkeep.storage.tensors",
    "modelkeep.storage.shard_index", "modelkeep.storage.walk", "modelkeep.registry.validation",
    "modelkeep.registry.registration", "modelkeep.cli.deploy", "modelkeep.cli.runs",
    "modelkeep.cli.validate",
)
# what show reads (a version's aliases and appended records) and predict does not
SHOWN = ("modelkeep.registry.aliases", "modelkeep.registry.records")


def modules_after(*args: str) -> tuple[set[str], bool]:
    """The modules a CLI process had loaded when it finished, and whether GC was back on."""
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                         check=True).stdout
    tail = out[out.index("MODULES ") + len("MODULES "):].rsplit(" ", 1)
    return set(json.loads(tail[0])), tail[1].strip() == "True"


def heavy(modules: set[str], also: tuple[str, ...] = ()) -> list[str]:
    return sorted(m for m in modules if m.startswith(HEAVY + also))


@pytest.fixture
def onnx_keep(project):
    folder = onnx_model(project / "lin")
    write_example(folder, {"x": [[1.0, 2.0, 3.0]]})
    cli_run("register", "lin", str(folder), "--loader", "onnx", "--example-input", "example.json")
    (project / "request.json").write_text(json.dumps({"x": [[1.0, 2.0, 3.0]]}))
    return project


def test_predict_loads_only_the_keep_the_checkout_and_the_framework(onnx_keep):
    modules, collecting = modules_after("predict", "lin@1.0.0", "--input", "request.json")
    assert "onnxruntime" in modules and "modelkeep.storage.checkout" in modules  # it did run
    assert heavy(modules, SHOWN) == []
    assert collecting  # the collector is back on once start-up is over


def test_predict_of_an_entry_point_loads_no_schema_model(project):
    folder = python_model(project / "double")
    write_example(folder, {"x": [1.0, 2.0]})
    cli_run("register", "double", str(folder), "--loader", "python:predict:run",
            "--example-input", "example.json")
    (project / "request.json").write_text(json.dumps({"x": [1.0, 2.0]}))
    modules, _ = modules_after("predict", "double@1.0.0", "--input", "request.json")
    assert "modelkeep.registry.loaders.python_entry" in modules
    assert heavy(modules, SHOWN) == []


def test_show_loads_no_loader_and_no_framework(onnx_keep):
    modules, collecting = modules_after("show", "lin@1.0.0")
    assert "modelkeep.registry.views" in modules
    assert heavy(modules) == []
    assert not [m for m in modules if m.startswith(("numpy", "onnxruntime",
                                                    "modelkeep.registry.loaders",
                                                    "modelkeep.storage.checkout"))]
    assert collecting


def test_help_imports_no_command_module():
    modules, _ = modules_after("--help")
    assert not [m for m in modules if m.startswith("modelkeep.") and m not in {
        "modelkeep._lazy", "modelkeep.cli", "modelkeep.cli.main", "modelkeep.cli._startup"}]


def test_a_command_runs_with_the_collector_on_wherever_it_was_registered():
    probe = ("import gc, sys\nfrom modelkeep.cli.main import cli, main\n"
             "@cli.command('probe-gc')\ndef probe():\n    print('GC', gc.isenabled())\n"
             "sys.argv = ['modelkeep', 'probe-gc']\nmain()\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout
    assert out.strip() == "GC True"


def test_register_of_a_safetensors_file_loads_no_pydantic(project):
    """Its inferred fingerprint goes into the snapshot without the schema's models (issue 7:
    pydantic was ~0.2 CPU-s of every such register)."""
    import numpy as np
    from safetensors.numpy import save_file

    save_file({"w": np.arange(6, dtype=np.float32)}, str(project / "model.safetensors"))
    modules, _ = modules_after("register", "w", str(project / "model.safetensors"))
    assert "modelkeep.registry.registration" in modules  # it did run
    assert not [m for m in modules if m.startswith(("pydantic", "modelkeep.schema.metadata", "hashlib"))]
    shown = json.loads(cli_run("show", "w@1.0.0", "--json").output)
    assert shown["metadata"]["technical"]["fingerprint"]["inferred_from"] == "safetensors header"


def test_register_of_a_small_file_loads_only_what_storing_it_needs(project):
    """A one-file register's fixed cost (issue 7) is mostly imports: no thread pool (and its
    logging), no shutil or tempfile (bz2, lzma, random), no ctypes (libc is looked up for a
    large write only), no pointer, pin, loader or chunking module, no redaction regexes."""
    (project / "model.bin").write_bytes(b"x")
    modules, collecting = modules_after("register", "m", str(project / "model.bin"))
    assert "modelkeep.registry.registration" in modules  # it did run
    unneeded = ("concurrent", "logging", "shutil", "tempfile", "ctypes", "lzma", "bz2",
                "modelkeep.storage.chunked", "modelkeep.storage.manifest",
                "modelkeep.storage.tensors", "modelkeep.storage.pointers",
                "modelkeep.storage.pins", "modelkeep.registry.loaders.base",
                "modelkeep.registry.loaders.examples", "modelkeep.db.backup")
    assert not [m for m in modules if m.startswith(unneeded)]
    assert collecting
