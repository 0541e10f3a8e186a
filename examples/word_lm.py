"""A word-level language model on your text files, with perplexity and beam search.

    python examples/word_lm.py "corpus/*.txt" --validation valid.txt
    python examples/word_lm.py wikitext.txt --max-vocab 30000 --units 512

Recommended settings (the defaults below) and why:
- word level, lowercased, punctuation split into tokens, the 20k most frequent words
  (the rest become <unk>): perplexity stays comparable across runs of the same data;
- 2-layer LSTM with tied input/output embeddings (units == embedding_dim): fewer
  parameters and lower perplexity (Press & Wolf, 2017);
- windows of 35 words, dropout 0.3 (the classic "medium" Penn Treebank setting);
- perplexity on held-out text is computed over the whole text with the state carried.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", help="text file(s): a path or a glob such as 'corpus/*.txt'")
    parser.add_argument("--validation", help="held-out text file (default: 5% of the lines)")
    parser.add_argument("--output", default="models/word_lm", help="where to save the trained model")
    parser.add_argument("--export-dir", default="saved_models", help="TF Serving base directory for the export")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--max-vocab", type=int, default=20_000)
    parser.add_argument("--sequence-length", type=int, default=35)
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument("--prompt", default="the", help="prompt for the generated examples")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import keras

    import rnnapps

    keras.utils.set_random_seed(42)
    generator = rnnapps.TextGenerator(
        level="word",
        lowercase=True,
        max_vocab=args.max_vocab,
        cell="lstm",
        units=args.units,
        embedding_dim=args.units,
        tie_embeddings=True,
        depth=2,
        dropout=args.dropout,
        output_dropout=args.dropout,
        sequence_length=args.sequence_length,
    )
    try:
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
