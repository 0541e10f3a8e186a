"""Prints the set-up commands that README.md opens with, so CI runs them exactly as written.

`python .ci/readme_commands.py 1` prints the first command (install + quickstart),
`... 2` the second (install + tests). They are the lines of the README's first fenced
code block; a trailing `# comment` is part of the line and harmless to bash.
"""

import pathlib
import sys


def readme_commands(readme_text):
    """The non-empty lines of the first fenced code block of `readme_text`."""
    lines = readme_text.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("```"))
    end = next(index for index in range(start + 1, len(lines)) if lines[index].startswith("```"))
    return [line.strip() for line in lines[start + 1:end] if line.strip()]


if __name__ == "__main__":
    readme = pathlib.Path(__file__).resolve().parent.parent / "README.md"
    print(readme_commands(readme.read_text(encoding="utf-8"))[int(sys.argv[1]) - 1])
