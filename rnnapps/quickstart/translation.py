"""Quickstart part: attention translation of spelled-out dates into ISO dates.

"the third of march twenty twenty one" -> "2021-03-03" needs reordering (day, month and
year come in three orders; the output is always year-month-day) and counting: a small
task that shows what attention does, trains in seconds and is checked exactly.
"""

import os
import time

from rnnapps.quickstart.common import heading

DEMO_DATES = [
    "the twenty third of april twenty twenty one",
    "december the thirty first nineteen ninety nine",
    "first january two thousand",
    "",
]
HEATMAP_SOURCE = "the twenty third of april twenty twenty one"


def run(export_dir, work_dir, epochs):
    """Trains a small Luong-attention GRU translator on generated date pairs, then checks it end to end."""
    import numpy as np
    import tensorflow as tf

    import rnnapps
    from rnnapps.data.synthetic import disjoint_split, spelled_dates

    heading("Attention translation (Luong, bidirectional GRU): spelled-out dates -> ISO dates")
    train, test = disjoint_split(spelled_dates(4000, seed=0) + spelled_dates(400, seed=1), 300)
    print(f"generated pairs: {len(train)} train / {len(test)} held-out (no held-out source is in the training set)")
    for source, target in train[:3]:
        print(f"  {source!r} -> {target!r}")
    translator = rnnapps.Translator(
        attention="luong", cell="gru", units=64, encoder_units=32, bidirectional=True,
        source_embedding_dim=32, target_embedding_dim=32, target_level="char", learning_rate=1e-2,
    )
    start = time.time()
    translator.fit(
        train, epochs=min(int(epochs), 12), batch_size=64, validation_split=0.1, early_stopping_patience=2,
        bleu_every=4, bleu_samples=100, seed=0, verbose=2,
    )
    print(f"trained in {time.time() - start:.1f} s")

    greedy = translator.evaluate(test)
    beam = translator.evaluate(test, beam_width=4, num_examples=0)
    print("\nheld-out evaluation (greedy):")
    print(greedy)
    print(f"with beam search (width 4): BLEU {beam.bleu:.2f}, exact match {beam.exact_match:.1%}")

    details = translator.translate(DEMO_DATES, beam_width=4, num_results=2, return_details=True)
    print("\ntranslations (beam width 4, two best with their log-probabilities):")
    for detail in details:
        results = "  |  ".join(f"{t!r} ({s:.3f})" for t, s in zip(detail.translations, detail.scores))
        print(f"  {detail.source!r:50} -> {results}")
    heatmap = translator.plot_attention(HEATMAP_SOURCE, os.path.join(work_dir, "translation_attention.png"))
    print(f"attention heatmap of {HEATMAP_SOURCE!r}: {heatmap}")

    translations = translator.translate(DEMO_DATES)
    saved = translator.save(os.path.join(work_dir, "translator"))
    reloaded = rnnapps.load(saved)
    same = reloaded.translate(DEMO_DATES) == translations
    print(f"\nsaved to {saved}; reloaded copy gives identical translations: {same}")

    version_dir = translator.export(export_dir, "translator", beam_width=4)
    served = tf.saved_model.load(version_dir)
    greedy_answer = served.signatures["serving_default"](source=tf.constant(DEMO_DATES))
    served_greedy = [t.decode("utf-8") for t in greedy_answer["translation"].numpy()]
    beam_answer = served.signatures["translate"](source=tf.constant(DEMO_DATES), max_length=tf.constant(20))
    served_beam = [row[0].decode("utf-8") for row in beam_answer["translations"].numpy()]
    in_process_beam = translator.translate(DEMO_DATES, beam_width=4, max_length=20, return_details=True)
    agrees = served_greedy == translations and served_beam == [d.translation for d in in_process_beam]
    agrees = agrees and np.allclose(beam_answer["scores"].numpy()[:, 0], [d.score for d in in_process_beam], atol=1e-4)
    print(f"exported SavedModel to {version_dir}")
    print(f"reloaded export answers {served_greedy}; agrees with the Python object (greedy and beam): {agrees}")
    if not (same and agrees):
        raise SystemExit("quickstart: a reloaded translator disagreed with the original (see above)")
    return {
        "summary": f"held-out BLEU {greedy.bleu:.1f}, exact match {greedy.exact_match:.1%}",
        "bleu": greedy.bleu,
        "exact_match": greedy.exact_match,
        "saved": saved,
        "export": version_dir,
    }
