"""The README's set-up commands that `.ci/run` executes as written."""

import pathlib
import runpy

ROOT = pathlib.Path(__file__).resolve().parents[2]
readme_commands = runpy.run_path(str(ROOT / ".ci" / "readme_commands.py"))["readme_commands"]


def test_readme_opens_with_the_install_and_quickstart_then_the_test_command():
    first, second = readme_commands((ROOT / "README.md").read_text(encoding="utf-8"))[:2]
    assert first.startswith("pip install -e . && rnnapps quickstart"), first  # no extras: a plain install must do
    assert second.startswith('pip install -e ".[test]" && pytest'), second


def test_ci_runs_both_commands_in_order():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m venv" in script
    assert script.index('bash -euo pipefail -c "$first_command"') < script.index('bash -euo pipefail -c "$test_command"')


def test_only_the_first_code_block_counts():
    text = "# t\n\n```bash\na && b   # one\n\nc\n```\n\n```bash\nd\n```\n"
    assert readme_commands(text) == ["a && b   # one", "c"]
