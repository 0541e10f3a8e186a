"""What the quickstart parts share: where the samples are, held-out splits, section headings."""

import os

SAMPLES_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "samples")


def heading(title):
    print(f"\n{'=' * 78}\n{title}\n{'=' * 78}", flush=True)


def hold_out_every(items, every):
    """Splits `items` into (kept, held_out): every `every`-th item, from the middle of each
    run of `every`, is held out, so the held-out part is spread over the whole sample.

    Example:
        >>> hold_out_every(list("abcdefgh"), 4)
        (['a', 'b', 'd', 'e', 'f', 'h'], ['c', 'g'])
    """
    kept, held_out = [], []
    for index, item in enumerate(items):
        (held_out if index % every == every // 2 else kept).append(item)
    return kept, held_out


def write_lines(path, lines, separator="\n"):
    """Writes `lines` joined by `separator` to `path` (UTF-8), creating its folder; returns `path`."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(separator.join(lines) + "\n")
    return path
