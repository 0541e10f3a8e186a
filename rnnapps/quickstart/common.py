"""What the quickstart parts share: where the samples are, and section headings."""

import os

SAMPLES_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "samples")


def heading(title):
    print(f"\n{'=' * 78}\n{title}\n{'=' * 78}", flush=True)
