"""`rnnapps quickstart`: every app, briefly, on the samples bundled with the package.

For each app: train with progress bars, evaluate on held-out data, show results, save
and reload (same answers), export a SavedModel and check that the export answers too.
Each app's part is a module here with `run(export_dir, work_dir, epochs)` returning a
dict with at least "summary" (one line) and "export" (the SavedModel version dir).
"""

import os
import shlex
import time

from rnnapps.quickstart import language_model, poetry, sentiment, translation
from rnnapps.quickstart.common import heading

PARTS = [
    ("sentiment", sentiment), ("language model", language_model), ("poetry", poetry), ("translation", translation),
]


def run_quickstart(export_dir="saved_models", work_dir="quickstart_output", epochs=20):
    """Runs every app's quickstart; returns a dict of results per app."""
    import keras

    keras.utils.set_random_seed(0)
    started = time.time()
    results = {}
    for name, part in PARTS:
        results[name] = part.run(export_dir, work_dir, epochs)
    heading(f"quickstart finished in {time.time() - started:.0f} s")
    for app, result in results.items():
        print(f"  {app}: {result['summary']}, export {result['export']}")
    print(f"TF Serving: tensorflow_model_server --model_config_file or --model_base_path={os.path.abspath(export_dir)}/<name>")
    print_next_steps(results)
    return results


def next_steps(results):
    """The commands to try on the saved quickstart apps, one (description, command) per app."""
    commands = {
        "sentiment": ("classify your own sentences", ["rnnapps", "classify", "predict", "{}", "What a wonderful evening!"]),
        "language model": ("continue a prompt", ["rnnapps", "lm", "generate", "{}", "MARA:", "--temperature", "0.8", "--seed", "1"]),
        "poetry": ("write an acrostic quatrain", ["rnnapps", "poetry", "generate", "{}", "--form", "qijue", "--acrostic", "春夏秋冬"]),
        "translation": ("translate a date, showing the two best beams", ["rnnapps", "translate", "run", "{}", "the first of may twenty twenty", "--beam-width", "4", "--num-results", "2"]),
    }
    steps = []
    for app, (description, words) in commands.items():
        if app in results and results[app].get("saved"):
            words = [results[app]["saved"] if word == "{}" else word for word in words]
            steps.append((description, " ".join(shlex.quote(word) for word in words)))
    return steps


def print_next_steps(results):
    """Prints what to try next with the apps the quickstart saved."""
    heading("what to try next")
    for description, command in next_steps(results):
        print(f"  # {description}\n  {command}")
    print("  # every command: rnnapps COMMAND --help; the Python API and training on real data: README.md")
