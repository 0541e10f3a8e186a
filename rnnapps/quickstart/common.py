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


def write_held_out_split(items, every, folder, separator="\n"):
    """Holds out every `every`-th item (`hold_out_every`) and writes both parts to
    `folder`/train.txt and `folder`/held_out.txt, items joined by `separator`.

    Returns:
        (train path, held-out path, number of training items, number held out).

    Example:
        >>> write_held_out_split(["a", "b", "c", "d"], 4, "out")[2:]  # doctest: +SKIP
        (3, 1)
    """
    train, held_out = hold_out_every(items, every)
    os.makedirs(folder, exist_ok=True)
    paths = []
    for name, part in (("train.txt", train), ("held_out.txt", held_out)):
        paths.append(os.path.join(folder, name))
        with open(paths[-1], "w", encoding="utf-8") as handle:
            handle.write(separator.join(part) + "\n")
    return paths[0], paths[1], len(train), len(held_out)
