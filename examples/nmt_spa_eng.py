"""English -> Spanish attention translation on the Anki/Tatoeba pairs (`spa.txt`), or TED talks from TFDS.

Data: the tab-separated `spa.txt` of http://www.manythings.org/anki/ (spa-eng.zip, ~140k
pairs, `English<TAB>Spanish<TAB>attribution` per line), or a TFDS translation dataset
such as `ted_hrlr_translate/pt_to_en` (Portuguese -> English, ~50k talk sentences).

    python examples/nmt_spa_eng.py --pairs spa-eng/spa.txt             # English -> Spanish
    python examples/nmt_spa_eng.py --pairs spa-eng/spa.txt --reverse   # Spanish -> English
    python examples/nmt_spa_eng.py --tfds ted_hrlr_translate/pt_to_en

The model is the app's default, `rnnapps.Translator()` (Luong attention with the "general"
score over a bidirectional GRU(256) encoder and a GRU(256) decoder, embeddings of 256; word
level on both sides, lowercased, punctuation split off, at most 50 tokens per sentence;
Adam 1e-3 with clipnorm 1.0; at the time of writing): those are the settings tuned on real
corpora in bench/quality.py. `--cell`, `--units` and the other model options override them.
Luong attention without input feeding trains as ordinary Keras recurrent layers (the fast,
cuDNN-eligible path); Bahdanau or input feeding (`--attention bahdanau`, `--input-feeding`)
need a step loop and train slower. An output <unk> is replaced by the source word it
attends to, which copies names.

The rest: batch 64, early stopping on validation loss (patience 2), BLEU on 500 validation
pairs logged after every epoch; beam search of width 4 with length penalty 0.6 for the
final evaluation (both greedy and beam BLEU are printed, so the gain on your data is
visible). On a CPU, `--max-pairs 30000 --units 128` gives a first usable model much sooner
than the full file; the export's `translate` signature uses the same beam width.
"""

import argparse
import os
import random
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

APP_DEFAULT = "default: the app's, see `help(rnnapps.Translator)`"

SAMPLES = {
    "en": ["I am cold.", "Where is the train station?", "We are going to the beach tomorrow.", "She likes to read books."],
    "es": ["Tengo frío.", "¿Dónde está la estación de tren?", "Mañana vamos a la playa.", "A ella le gusta leer libros."],
    "pt": ["este é um problema que temos que resolver.", "eu não sei o que fazer.", "obrigado a todos."],
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--pairs", help="a local pairs file: source<TAB>target[<TAB>...] per line (e.g. Anki spa.txt)")
    source.add_argument("--tfds", default="ted_hrlr_translate/pt_to_en", help="TFDS translation dataset (used without --pairs)")
    parser.add_argument("--tfds-data-dir", help="TFDS data directory (where the dataset is or will be prepared)")
    parser.add_argument("--reverse", action="store_true", help="pairs file only: translate the second column into the first (spa.txt: Spanish -> English)")
    parser.add_argument("--max-pairs", type=int, help="train on at most this many pairs of the pairs file")
    parser.add_argument("--test-pairs", type=int, default=2000, help="pairs of the pairs file held out for BLEU (default: 2000)")
    parser.add_argument("--output", default="models/nmt_spa_eng", help="where to save the trained translator")
    parser.add_argument("--export-dir", default="saved_models", help="TF Serving base directory for the export")
    parser.add_argument("--heatmap", default="nmt_attention.png", help="where to save an attention heatmap")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--cell", choices=("simple", "irnn", "gru", "lstm"), help=f"recurrent cell ({APP_DEFAULT})")
    parser.add_argument("--units", type=int, help=f"decoder units, and encoder units per direction ({APP_DEFAULT})")
    parser.add_argument("--embedding-dim", type=int, help=f"source and target embedding width ({APP_DEFAULT})")
    parser.add_argument("--attention", choices=("luong", "bahdanau"), help=f"attention variant ({APP_DEFAULT})")
    parser.add_argument("--input-feeding", action="store_true", default=None, help=f"Luong input feeding, slower ({APP_DEFAULT})")
    parser.add_argument("--dropout", type=float, help=f"dropout on the recurrent inputs and before the output layer ({APP_DEFAULT})")
    parser.add_argument("--learning-rate", type=float, help=f"Adam learning rate ({APP_DEFAULT})")
    parser.add_argument("--min-count", type=int, help=f"words seen fewer times become <unk> ({APP_DEFAULT})")
    parser.add_argument("--max-length", type=int, help=f"tokens kept per sentence ({APP_DEFAULT})")
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--bleu-samples", type=int, default=500, help="validation pairs translated for val_bleu each epoch")
    parser.add_argument("--tensorboard-dir", help="write TensorBoard logs here")
    parser.add_argument("--backup-dir", default="models/nmt_backup", help="resume state if the run is interrupted")
    return parser.parse_args(argv)


def read_pairs(path, reverse, test_pairs, max_pairs, seed=42):
    """All pairs of the file, shuffled reproducibly: (training pairs, held-out pairs)."""
    from rnnapps.data.parallel import from_pairs_file

    data = from_pairs_file(path, source_column=1 if reverse else 0, target_column=0 if reverse else 1)
    pairs = []
    with data.reading():
        for sources, targets in data.dataset.batch(4096).as_numpy_iterator():
            pairs.extend((s.decode("utf-8"), t.decode("utf-8")) for s, t in zip(sources, targets))
    random.Random(seed).shuffle(pairs)
    held_out = pairs[:test_pairs]
    train = pairs[test_pairs:]
    return (train[:max_pairs] if max_pairs else train), held_out


def main(argv=None):
    args = parse_args(argv)
    import keras

    import rnnapps

    keras.utils.set_random_seed(42)
    try:
        # Only the model options given on the command line: the app's defaults for the rest.
        model_options = dict(
            attention=args.attention, input_feeding=args.input_feeding, cell=args.cell, units=args.units,
            dropout=args.dropout, learning_rate=args.learning_rate, min_count=args.min_count,
            source_embedding_dim=args.embedding_dim, target_embedding_dim=args.embedding_dim,
            source_max_length=args.max_length, target_max_length=args.max_length,
        )
        translator = rnnapps.Translator(**{k: v for k, v in model_options.items() if v is not None})
        if args.pairs:
            train, test = read_pairs(args.pairs, args.reverse, args.test_pairs, args.max_pairs)
            print(f"{args.pairs}: {len(train)} training pairs, {len(test)} held out")
            # The shown translations and the heatmap use held-out sources of this file: the
            # fixed samples only suit spa.txt, and a pairs file may hold any language pair.
            samples = [source for source, _ in test[:3]] or SAMPLES["es" if args.reverse else "en"]
            translator.fit(
                train, validation_split=0.05, epochs=args.epochs, batch_size=args.batch_size,
                early_stopping_patience=2, bleu_every=1, bleu_samples=args.bleu_samples,
                tensorboard_dir=args.tensorboard_dir, backup_dir=args.backup_dir,
            )
        else:
            options = {"tfds_data_dir": args.tfds_data_dir} if args.tfds_data_dir else {}
            test = args.tfds
            samples = SAMPLES["pt"] if args.tfds.endswith("pt_to_en") else SAMPLES["en"]
            translator.fit(
                args.tfds, validation_data=args.tfds, epochs=args.epochs, batch_size=args.batch_size,
                early_stopping_patience=2, bleu_every=1, bleu_samples=args.bleu_samples,
                tensorboard_dir=args.tensorboard_dir, backup_dir=args.backup_dir, **options,
            )
        evaluation_options = {} if args.pairs else options  # TFDS: its "test" split
        print("\nHeld-out pairs, greedy:")
        print(translator.evaluate(test, **evaluation_options))
        print(f"\nHeld-out pairs, beam search (width {args.beam_width}, length penalty 0.6):")
        print(translator.evaluate(test, beam_width=args.beam_width, length_penalty=0.6, num_examples=0, **evaluation_options))
    except rnnapps.RnnappsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    results = min(3, args.beam_width)
    print(f"\nBeam search (width {args.beam_width}), the {results} best with their log-probabilities:")
    for detail in translator.translate(samples, beam_width=args.beam_width, num_results=results, return_details=True):
        print(f"  {detail.source}")
        for translation, score in zip(detail.translations, detail.scores):
            print(f"    {score:8.3f}  {translation}")
    print("attention heatmap:", translator.plot_attention(samples[0], args.heatmap, beam_width=args.beam_width))
    print("saved to", translator.save(args.output))
    print("exported to", translator.export(args.export_dir, "nmt_spa_eng", beam_width=args.beam_width))
    return 0


if __name__ == "__main__":
    sys.exit(main())
