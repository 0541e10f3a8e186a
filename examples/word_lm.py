"""A word-level language model on your text files, with perplexity and beam search.

    python examples/word_lm.py "corpus/*.txt" --validation valid.txt
    python examples/word_lm.py wikitext.txt --lowercase --units 256 --embedding-dim 256 --tie-embeddings

The model is the app's default, `rnnapps.TextGenerator(level="word")` (a GRU(512) over
256-wide embeddings, windows of 100 words, the 20k most frequent words with the rest as
<unk>, punctuation split into tokens, case kept, at the time of writing): those are the
settings tuned on real corpora in bench/quality.py. `--units`, `--lowercase` and the other
model options override them.

Perplexity on held-out text is computed over the whole text with the state carried.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

MODEL_OPTIONS = (
    "cell", "units", "depth", "embedding_dim", "tie_embeddings", "dropout", "sequence_length", "max_vocab", "lowercase",
    "learning_rate",
)
APP_DEFAULT = "default: the app's, see `help(rnnapps.TextGenerator)`"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", help="text file(s): a path or a glob such as 'corpus/*.txt'")
    parser.add_argument("--validation", help="held-out text file (default: 5%% of the lines)")
    parser.add_argument("--output", default="models/word_lm", help="where to save the trained model")
    parser.add_argument("--export-dir", default="saved_models", help="TF Serving base directory for the export")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--cell", choices=("simple", "irnn", "gru", "lstm"), help=f"recurrent cell ({APP_DEFAULT})")
    parser.add_argument("--units", type=int, help=f"units per recurrent layer ({APP_DEFAULT})")
    parser.add_argument("--depth", type=int, help=f"recurrent layers ({APP_DEFAULT})")
    parser.add_argument("--embedding-dim", type=int, help=f"word embedding width ({APP_DEFAULT})")
    parser.add_argument("--tie-embeddings", action="store_true", default=None,
                        help=f"share the embedding matrix with the output layer; needs units == embedding dim ({APP_DEFAULT})")
    parser.add_argument("--dropout", type=float, help=f"dropout on the recurrent inputs and before the softmax ({APP_DEFAULT})")
    parser.add_argument("--sequence-length", type=int, help=f"words per training window ({APP_DEFAULT})")
    parser.add_argument("--max-vocab", type=int, help=f"keep the most frequent words only, the rest become <unk> ({APP_DEFAULT})")
    parser.add_argument("--lowercase", action="store_true", default=None, help=f"lowercase the text first ({APP_DEFAULT})")
    parser.add_argument("--learning-rate", type=float, help=f"Adam learning rate ({APP_DEFAULT})")
    parser.add_argument("--prompt", default="the", help="prompt for the generated examples")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import keras

    import rnnapps

    keras.utils.set_random_seed(42)
    try:
        # Only the model options given on the command line: the app's defaults for the rest.
        model_options = {name: getattr(args, name) for name in MODEL_OPTIONS}
        model_options["output_dropout"] = args.dropout
        generator = rnnapps.TextGenerator(level="word", **{k: v for k, v in model_options.items() if v is not None})
        generator.fit(args.data, validation_data=args.validation, epochs=args.epochs, batch_size=args.batch_size)
        print("\nHeld-out text:" if args.validation else "\nTraining text:")
        print(generator.evaluate(args.validation or args.data))
    except rnnapps.RnnappsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("\nbeam search (width 4):", generator.generate(args.prompt, max_length=30, beam_width=4))
    for text in generator.generate(args.prompt, max_length=30, temperature=0.8, top_k=40, num_samples=3, seed=1):
        print("sampled:", text)
    print("saved to", generator.save(args.output))
    print("exported to", generator.export(args.export_dir, "word_lm"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
