"""`rnnapps diagnose gradient-flow|neurons|history`: look inside recurrent models."""

import json
import os

from rnnapps.errors import ConfigError, DataError

DEFAULT_CELLS = ("simple", "gru", "lstm")


def _random_ids(vocabulary_size, batch, length, seed):
    import numpy as np

    from rnnapps.text.vectorizer import FIRST_TOKEN_ID

    return np.random.default_rng(seed).integers(FIRST_TOKEN_ID, vocabulary_size, (batch, length)).astype("int32")


def _gradient_flow(args):
    import keras

    from rnnapps.diagnostics import gradient_flow
    from rnnapps.viz import plot_gradient_flow

    if args.length < 2 or args.batch_size < 1:
        raise ConfigError("--length must be >= 2 and --batch-size >= 1")
    keras.utils.set_random_seed(args.seed)
    flows = []
    if args.models:
        import rnnapps

        texts = None
        if args.text_file:
            with open(args.text_file, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
            step = max(1, args.length)
            texts = [text[i : i + args.length] for i in range(0, len(text) - args.length + 1, step)][: args.batch_size]
            if not texts:
                raise DataError(f"{args.text_file} is shorter than --length {args.length}")
        for path in args.models:
            app = rnnapps.load(path)
            size = app.vectorizer.vocabulary_size
            batch = texts if texts is not None else _random_ids(size, args.batch_size, args.length, args.seed)
            if getattr(app, "target_vectorizer", None) is not None and texts is None:
                # A translator: the layers are found in the train model, which also takes decoder inputs.
                batch = [batch, _random_ids(app.target_vectorizer.vocabulary_size, args.batch_size, args.length, args.seed + 1)]
            flows.append(gradient_flow(app, batch, layer=args.layer, label=os.path.basename(os.path.normpath(path))))
    else:
        from rnnapps.builders.language_model import LanguageModelSpec, build_language_model

        ids = _random_ids(args.vocabulary_size, args.batch_size, args.length, args.seed)
        for cell in args.cells:
            spec = LanguageModelSpec(cell=cell, units=args.units, embedding_dim=args.embedding_dim, depth=args.depth)
            models = build_language_model(args.vocabulary_size, spec, compile=False)
            label = f"untrained {cell}"
            if args.recurrent_scale != 1.0:
                # The textbook setting: recurrent weights with a spectral radius below 1.
                for layer in models.train.layers:
                    if hasattr(getattr(layer, "cell", None), "recurrent_kernel"):
                        layer.cell.recurrent_kernel.assign(layer.cell.recurrent_kernel * args.recurrent_scale)
                label += f" (recurrent x{args.recurrent_scale:g})"
            flows.append(gradient_flow(models.train, ids, layer=args.layer, label=label))
    path = plot_gradient_flow(flows, args.output)
    print(f"wrote {path}")
    for flow in flows:
        far = min(20, len(flow.mean) - 1)
        print(
            f"{flow.label:>24}: x{flow.decay_per_step():.3f} per step; norm at distance 1 / {far}: "
            f"{flow.mean[1]:.3g} / {flow.mean[far]:.3g} (ratio {flow.ratio(1, far):.3g})"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump([flow.to_dict() for flow in flows], handle, indent=1)
        print(f"wrote {args.json}")


def _neurons(args):
    import rnnapps
    from rnnapps.viz import neuron_activations, rank_units

    text = args.text
    if args.text_file:
        with open(args.text_file, encoding="utf-8", errors="replace") as handle:
            text = handle.read()[: args.max_chars]
    if not text:
        raise DataError("give the text to read with --text or --text-file")
    generator = rnnapps.load(args.model)
    units = args.units
    if args.rank:
        scores = rank_units(generator, text, args.rank, layer=args.layer, state=args.state, top=args.top)
        print(f"units tracking {args.rank!r} (Pearson r over the characters):")
        for score in scores:
            print(f"  unit {score.unit:4d}  r = {score.correlation:+.3f}")
        units = units or [score.unit for score in scores]
    view = neuron_activations(generator, text, units=units, path=args.output, layer=args.layer, state=args.state)
    print(f"wrote {view.html_path} and {view.png_path} (units {', '.join(map(str, view.units))})")


def _history(args):
    from rnnapps.viz import plot_history

    path = plot_history(args.source, args.output, title=args.title)
    print(f"wrote {path}")


def add_parser(sub):
    diagnose = sub.add_parser(
        "diagnose",
        help="look inside recurrent models: gradient flow, neuron activations, training curves",
        description="Diagnostics that make the lessons about RNNs visible on your own models.",
    )
    actions = diagnose.add_subparsers(dest="action", metavar="ACTION", required=True)

    flow = actions.add_parser(
        "gradient-flow",
        help="plot ||dL_T/dh_k|| against distance for several models",
        description="Measure how much gradient reaches back T-k steps through a recurrent layer and plot the "
        "models on one PNG. Without MODELS, compares untrained simple (Elman), GRU and LSTM language models.",
        epilog="Example: rnnapps diagnose gradient-flow -o gradient_flow.png --json gradient_flow.json",
    )
    flow.add_argument("models", nargs="*", help="saved app directories (default: untrained language models per --cells)")
    flow.add_argument("--output", "-o", default="gradient_flow.png", help="PNG to write (default: gradient_flow.png)")
    flow.add_argument("--json", help="also write the numbers to this JSON file")
    flow.add_argument("--cells", nargs="+", choices=("simple", "irnn", "gru", "lstm"), default=list(DEFAULT_CELLS), help="cells of the untrained models (default: simple gru lstm)")
    flow.add_argument("--units", type=int, default=64, help="units of the untrained models (default: 64)")
    flow.add_argument("--embedding-dim", type=int, default=32, help="embedding width of the untrained models (default: 32)")
    flow.add_argument("--depth", type=int, default=1, help="layers of the untrained models (default: 1)")
    flow.add_argument("--vocabulary-size", type=int, default=64, help="ids of the untrained models (default: 64)")
    flow.add_argument("--recurrent-scale", type=float, default=1.0, help="scale the untrained models' recurrent weights "
                      "(e.g. 0.5: small recurrent weights; default 1: Keras' orthogonal initialisation)")
    flow.add_argument("--layer", type=int, default=0, help="which recurrent layer, 0 = closest to the input (default: 0)")
    flow.add_argument("--length", type=int, default=50, help="sequence length T (default: 50)")
    flow.add_argument("--batch-size", type=int, default=8, help="sequences averaged over (default: 8)")
    flow.add_argument("--text-file", help="read the saved models' batches from this text (default: random ids)")
    flow.add_argument("--seed", type=int, default=0, help="seed of weights, ids and readouts (default: 0)")
    flow.set_defaults(run=_gradient_flow)

    neurons = actions.add_parser(
        "neurons",
        help="colour a text by the activation of chosen units of a char LM (HTML + PNG)",
        description="Run a saved character-level language model over a text and write <output>.html and "
        "<output>.png: every character coloured by the chosen units' activation after reading it.",
        epilog="Example: rnnapps diagnose neurons models/shakespeare --text-file play.txt --rank quotes -o neurons",
    )
    neurons.add_argument("model", help="directory of a saved character-level language model")
    neurons.add_argument("--text", help="the text to read")
    neurons.add_argument("--text-file", help="read the text from this file instead")
    neurons.add_argument("--max-chars", type=int, default=3000, help="characters read from --text-file (default: 3000)")
    neurons.add_argument("--units", type=int, nargs="+", help="unit indices (default: the most varying, or the best ranked)")
    neurons.add_argument("--rank", choices=("quotes", "brackets", "line_position", "word_position"), help="print and show the units that best track this signal")
    neurons.add_argument("--top", type=int, default=6, help="units listed by --rank (default: 6)")
    neurons.add_argument("--layer", type=int, default=0, help="recurrent layer (default: 0)")
    neurons.add_argument("--state", choices=("hidden", "cell"), default="hidden", help="hidden state, or the LSTM cell state (default: hidden)")
    neurons.add_argument("--output", "-o", default="neurons", help="output path without extension (default: neurons)")
    neurons.set_defaults(run=_neurons)

    history = actions.add_parser(
        "history",
        help="plot a training history (loss, metrics, gradient norms) to PNG",
        description="Plot the loss, metric and gradient-norm curves kept in a saved app (history.json) or in a "
        "history JSON file ({key: [value per epoch]}).",
        epilog="Example: rnnapps diagnose history models/sentiment -o history.png",
    )
    history.add_argument("source", help="a saved app directory or a history JSON file")
    history.add_argument("--output", "-o", default="history.png", help="PNG to write (default: history.png)")
    history.add_argument("--title", help="figure title")
    history.set_defaults(run=_history)
