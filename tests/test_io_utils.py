"""Atomic, recoverable directory replacement and export names (rnnapps/io_utils.py)."""

import os
import subprocess
import sys
import textwrap

import pytest

from rnnapps.errors import ConfigError, ModelFileError
from rnnapps.io_utils import check_plain_name, publish_version, read_json_file, recover_directory, replace_directory


def is_ours(directory):
    return os.path.isfile(os.path.join(directory, "marker"))


def writer(content, crash=False):
    def write(directory):
        with open(os.path.join(directory, "marker"), "w") as handle:
            handle.write(content)
        if crash:
            raise RuntimeError("crash mid-save")
    return write


def test_replace_directory_keeps_the_old_save_until_the_new_one_is_complete(tmp_path):
    target = tmp_path / "app"
    replace_directory(writer("first"), target, is_ours)
    with pytest.raises(RuntimeError):
        replace_directory(writer("crash", crash=True), target, is_ours)
    assert (target / "marker").read_text() == "first"
    assert sorted(os.listdir(tmp_path)) == ["app"]
    replace_directory(writer("second"), target, is_ours)
    assert (target / "marker").read_text() == "second"
    assert sorted(os.listdir(tmp_path)) == ["app"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelFileError, match="is a file"):
        replace_directory(writer("second"), tmp_path / "file", is_ours)


def test_replace_directory_refuses_a_folder_it_cannot_prove_it_wrote(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "config.json").write_text('{"name": "my project"}')
    (project / "notes.txt").write_text("precious")
    with pytest.raises(ModelFileError, match="not an rnnapps save.*nothing was changed"):
        replace_directory(writer("x"), project, is_ours)
    assert sorted(os.listdir(project)) == ["config.json", "notes.txt"]
    assert sorted(os.listdir(tmp_path)) == ["project"]
    empty = tmp_path / "empty"
    empty.mkdir()
    replace_directory(writer("x"), empty, is_ours)
    assert (empty / "marker").read_text() == "x"


def test_failed_second_rename_puts_the_old_save_back(tmp_path, monkeypatch):
    target = tmp_path / "app"
    replace_directory(writer("first"), target, is_ours)
    real_rename = os.rename

    def rename(source, destination):
        if os.path.basename(str(source)).startswith(".tmp-"):
            raise OSError("injected failure")
        return real_rename(source, destination)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError, match="injected"):
        replace_directory(writer("second"), target, is_ours)
    monkeypatch.undo()
    assert (target / "marker").read_text() == "first"
    assert sorted(os.listdir(tmp_path)) == ["app"]


KILL = textwrap.dedent(
    """
    import os, sys
    import rnnapps.io_utils as io_utils
    def is_ours(directory):
        return os.path.isfile(os.path.join(directory, "marker"))
    def write(directory):
        with open(os.path.join(directory, "marker"), "w") as handle:
            handle.write("second")
    def hook(step):
        if step == sys.argv[1]:
            os._exit(17)
    io_utils._step_hook = hook
    io_utils.replace_directory(write, sys.argv[2], is_ours)
    """
)


@pytest.mark.parametrize("step", ["written", "retired", "replaced"])
def test_a_kill_at_any_step_of_a_replacement_is_recoverable(tmp_path, step):
    target = tmp_path / "app"
    replace_directory(writer("first"), target, is_ours)
    script = tmp_path / "kill.py"
    script.write_text(KILL)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run(
        [sys.executable, str(script), step, str(target)], capture_output=True, text=True, timeout=60,
        env=dict(os.environ, PYTHONPATH=repo),
    )
    assert result.returncode == 17, result.stderr
    recover_directory(target, is_ours)
    # Either the old or the new copy is in place, whole.
    expected = {"written": "first", "retired": "first", "replaced": "second"}[step]
    assert (target / "marker").read_text() == expected
    # The next save succeeds and leaves no retired copies behind (temporaries of a
    # killed writer are left: rnnapps cannot prove they are complete).
    replace_directory(writer("third"), target, is_ours)
    assert (target / "marker").read_text() == "third"
    assert not [entry for entry in os.listdir(tmp_path) if ".old-" in entry]


@pytest.mark.parametrize("name", ["../x", "/abs", "", " ", ".", "..", "a/b", "a\\b" if os.sep == "\\" else "a/../b"])
def test_export_names_must_be_plain_folder_names(tmp_path, name):
    with pytest.raises(ConfigError, match="plain folder name"):
        publish_version(writer("x"), tmp_path / "base", name)
    assert not (tmp_path / "x").exists() and not (tmp_path / "abs").exists()


def test_plain_names_are_accepted(tmp_path):
    assert check_plain_name("sentiment-v2") == "sentiment-v2"
    path = publish_version(writer("x"), tmp_path, "sentiment-v2")
    assert path == str(tmp_path / "sentiment-v2" / "1")


def test_read_json_file_turns_unreadable_or_broken_json_into_model_file_errors(tmp_path):
    good = tmp_path / "good.json"
    good.write_text('{"app": "poetry"}', encoding="utf-8")
    assert read_json_file(good, "app config") == {"app": "poetry"}
    for name, content in (("half.json", b'{"app": "poe'), ("latin1.json", b'["\xe9t\xe9"]')):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ModelFileError, match=r"^vocabulary file .*latin1.json is corrupted: not UTF-8 JSON|^vocabulary file .*half.json is corrupted: not UTF-8 JSON"):
            read_json_file(tmp_path / name, "vocabulary file")
    with pytest.raises(ModelFileError, match=r"^training history .* cannot be read"):
        read_json_file(tmp_path, "training history")  # a directory, not a file
