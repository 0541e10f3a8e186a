"""CLI option groups: the same training, resume, precision and export options on every app
command, defaults of None (the apps own their defaults), help texts that quote the apps."""

import argparse
import inspect

import pytest

import rnnapps
from rnnapps.cli import build_parser
from rnnapps.commands.common import (
    AppDefaults,
    add_precision_options,
    add_resume_options,
    given,
    optimizer_options,
    run_export,
    training_options,
)

APPS = {"classify": rnnapps.SentimentClassifier, "lm": rnnapps.TextGenerator,
        "poetry": rnnapps.PoetryGenerator, "translate": rnnapps.Translator}
SHARED_TRAIN_OPTIONS = (
    "--epochs", "--batch-size", "--validation-data", "--validation-split", "--patience", "--checkpoint-dir",
    "--tensorboard-dir", "--seed", "--time-limit", "--lr-schedule", "--resume", "--backup-dir",
    "--mixed-precision", "--optimizer", "--learning-rate", "--clipnorm", "--global-clipnorm", "--clipvalue",
    "--no-clipping", "--dropout", "--recurrent-dropout",
)


def action_parser(command, action):
    """The argparse parser of `rnnapps <command> <action>`."""
    parser = build_parser()
    for name in (command, action):
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser


def options_of(parser):
    return {option: action for action in parser._actions for option in action.option_strings}


@pytest.mark.parametrize("command", sorted(APPS))
def test_every_train_command_has_the_shared_options(command):
    options = options_of(action_parser(command, "train"))
    missing = [option for option in SHARED_TRAIN_OPTIONS if option not in options]
    if command == "translate":  # its constructor has no recurrent_dropout
        missing.remove("--recurrent-dropout")
    assert missing == []


ACTIONS = {"classify": ("train", "predict", "evaluate", "export"), "lm": ("train", "generate", "evaluate", "export"),
           "poetry": ("train", "generate", "evaluate", "export"), "translate": ("train", "run", "evaluate", "export")}


@pytest.mark.parametrize("command, action_name", [(c, a) for c in sorted(ACTIONS) for a in ACTIONS[c]])
def test_defaults_are_none_so_the_app_owns_them(command, action_name):
    parser = action_parser(command, action_name)
    for action in parser._actions:
        if action.option_strings and not isinstance(action, argparse._HelpAction):
            # Switches of the command itself (not app arguments) default to off.
            expected = False if action.dest in ("no_clipping", "resume", "json") else None
            assert action.default is expected, (command, action.option_strings, action.default)


@pytest.mark.parametrize("command", sorted(APPS))
def test_options_left_out_reach_the_app_as_its_own_defaults(command):
    data = ["poems.txt"] if command == "poetry" else ["data.txt"]
    args = action_parser(command, "train").parse_args([*data, "-o", "out"])
    assert training_options(args) == {}
    assert optimizer_options(args) == {}


def test_given_options_are_passed_under_the_app_names():
    args = action_parser("classify", "train").parse_args(
        ["d.tsv", "-o", "out", "--epochs", "3", "--patience", "0", "--no-lowercase", "--freeze-embeddings",
         "--bidirectional", "--resume", "--global-clipnorm", "2", "--no-bucketing", "--tfds-data-dir", "/t"]
    )
    assert training_options(args) == {"epochs": 3, "early_stopping_patience": None, "backup_dir": "out.backup"}
    assert given(args, ("lowercase", "trainable_embeddings", "bidirectional", "bucketing", "cell")) == {
        "lowercase": False, "trainable_embeddings": False, "bidirectional": True, "bucketing": False,
    }
    assert optimizer_options(args) == {"clipnorm": None, "global_clipnorm": 2.0}
    args = action_parser("translate", "train").parse_args(["p.txt", "-o", "m", "--unidirectional", "--no-download"])
    assert given(args, ("bidirectional", "download")) == {"bidirectional": False, "download": False}


def test_tied_embeddings_can_be_asked_for_or_refused_and_the_poetry_help_says_what_none_means():
    parser = action_parser("poetry", "train")
    assert given(parser.parse_args(["p.txt", "-o", "m"]), ("tie_embeddings", "embedding_dim")) == {}
    assert given(parser.parse_args(["p.txt", "-o", "m", "--no-tie-embeddings"]), ("tie_embeddings",)) == {"tie_embeddings": False}
    assert given(parser.parse_args(["p.txt", "-o", "m", "--tie-embeddings"]), ("tie_embeddings",)) == {"tie_embeddings": True}
    with pytest.raises(SystemExit):  # one or the other
        parser.parse_args(["p.txt", "-o", "m", "--tie-embeddings", "--no-tie-embeddings"])
    helps = {option: action.help for option, action in options_of(parser).items()}
    assert helps["--embedding-dim"].endswith("(default: --units)")
    assert helps["--tie-embeddings"].endswith("(default: on when --embedding-dim equals --units)")
    assert options_of(action_parser("lm", "train"))["--tie-embeddings"].help.endswith("(default: off)")


def test_resume_and_precision_are_separate_groups():
    parser = argparse.ArgumentParser()
    add_resume_options(parser)
    assert "--mixed-precision" not in options_of(parser)
    assert {"--resume", "--backup-dir"} <= set(options_of(parser))
    parser = argparse.ArgumentParser()
    add_precision_options(parser)
    assert set(options_of(parser)) == {"-h", "--help", "--mixed-precision"}


@pytest.mark.parametrize("command", sorted(APPS))
def test_export_is_written_once(command):
    assert action_parser(command, "export").get_default("run") is run_export


@pytest.mark.parametrize("command, module", [("classify", "sentiment"), ("lm", "generator"),
                                             ("poetry", "poetry"), ("translate", "translator")])
def test_help_quotes_the_real_defaults(command, module):
    app = APPS[command]
    defaults = AppDefaults(module, app.__name__)
    methods = [name for name in ("__init__", "fit", "export", "predict", "generate", "translate", "evaluate") if hasattr(app, name)]
    for method in methods:
        signature = inspect.signature(getattr(app, method))
        for name, parameter in signature.parameters.items():
            value = parameter.default
            if value is inspect.Parameter.empty or not isinstance(value, (int, float, str, bool, type(None))):
                continue
            shown = {None: "none", True: "on", False: "off"}[value] if value is None or isinstance(value, bool) else value
            assert defaults.note(method, name) == f" (default: {shown})", (method, name)
    assert AppDefaults("no_such_module", "X").note("fit", "epochs") == " (default: the app's)"
