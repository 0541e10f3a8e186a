"""What the README claims of saves and exports, checked: no pickle anywhere, only ops that
stock TF Serving has, every serving knob observable, `<unk>` copied from the source,
an empty prompt starting from a line break."""

import os
import pickletools
import zipfile

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import op_def_registry

import rnnapps

# Ops that run Python (or need a library stock TF Serving does not link) never belong in an export.
FORBIDDEN_OPS = {"PyFunc", "PyFuncStateless", "EagerPyFunc"}


@pytest.fixture(scope="module")
def apps(trained_classifier):
    return {
        "classifier": trained_classifier,
        "generator": rnnapps.TextGenerator.from_vocabulary(list("abc \n"), units=8, depth=1, embedding_dim=8),
        "poet": rnnapps.PoetryGenerator.from_vocabulary("春夏秋冬山水花月", units=8, depth=1, embedding_dim=8),
        "translator": rnnapps.Translator.from_vocabularies(["one", "two"], ["uno", "dos"], units=8),
    }


@pytest.fixture(scope="module")
def exports(apps, tmp_path_factory):
    base = tmp_path_factory.mktemp("exports")
    return {name: app.export(base, name) for name, app in apps.items()}


def is_pickle(data):
    """True when `data` is a complete pickle stream (what `pickle.load` would run)."""
    if data[:1] != b"\x80":
        return False
    try:
        ops = list(pickletools.genops(data))
    except Exception:
        return False
    return bool(ops) and ops[-1][0].name == "STOP"


def every_file(root):
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                data = handle.read()
            yield path, data
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as archive:
                    for member in archive.namelist():
                        yield f"{path}:{member}", archive.read(member)


def test_no_pickle_in_any_save_or_export_and_saves_load_in_safe_mode(apps, exports, tmp_path):
    checked = 0
    for name, app in apps.items():
        saved = app.save(tmp_path / name)
        for root in (saved, exports[name]):
            for path, data in every_file(root):
                assert not is_pickle(data), path
                assert b"cnumpy" not in data[:64] and b"c__builtin__" not in data[:64], path
                checked += 1
        assert type(rnnapps.load(saved)) is type(app)  # loads with safe_mode=True (rnnapps/apps/base.py)
    assert checked > 20
    assert is_pickle(__import__("pickle").dumps({"a": [1]}))  # the detector does detect a pickle


def graph_ops(export_dir):
    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as handle:
        proto.ParseFromString(handle.read())
    ops = set()
    for meta_graph in proto.meta_graphs:
        ops |= {node.op for node in meta_graph.graph_def.node}
        for function in meta_graph.graph_def.library.function:
            ops |= {node.op for node in function.node_def}
    return ops


def test_serving_graphs_use_only_registered_core_ops(exports):
    for name, path in exports.items():
        ops = graph_ops(path)
        assert "StatelessWhile" in ops or "While" in ops or name == "classifier"  # loops run in the graph
        assert not ops & FORBIDDEN_OPS, (name, ops & FORBIDDEN_OPS)
        functions = set()
        proto = saved_model_pb2.SavedModel()
        with open(os.path.join(path, "saved_model.pb"), "rb") as handle:
            proto.ParseFromString(handle.read())
        for meta_graph in proto.meta_graphs:
            functions |= {f.signature.name for f in meta_graph.graph_def.library.function}
        unknown = {op for op in ops if op not in functions and op_def_registry.get(op) is None}
        assert not unknown, (name, unknown)  # every op is a core TensorFlow op (no tensorflow-text, no custom op)


def generate_request(signature, prompts, max_length=8, temperature=1.0, top_k=0, top_p=1.0, seed=0):
    return signature(
        prompt=tf.constant(prompts), max_length=tf.constant(max_length, tf.int32), temperature=tf.constant(temperature),
        top_k=tf.constant(top_k, tf.int32), top_p=tf.constant(top_p), seed=tf.constant(seed, tf.int64),
    )["text"].numpy().tolist()


def test_every_generation_knob_is_observable_in_the_export(exports):
    generate = tf.saved_model.load(exports["generator"]).signatures["generate"]
    prompts = ["a", "b c", "ca"]
    greedy = generate_request(generate, prompts, temperature=0.0)
    assert all(len(t.decode()) == len(p) + 8 for t, p in zip(greedy, prompts))  # max_length > 0 is honoured
    assert generate_request(generate, prompts, max_length=3, temperature=0.0) == [t[: len(p) + 3] for t, p in zip(greedy, prompts)]
    hot = [generate_request(generate, prompts, temperature=5.0, seed=seed) for seed in range(4)]
    assert hot[0] == generate_request(generate, prompts, temperature=5.0, seed=0)  # a seed reproduces
    assert len({tuple(h) for h in hot}) > 1  # another seed differs
    assert generate_request(generate, prompts, temperature=5.0, top_k=1, seed=1) == greedy  # top_k=1 is greedy
    assert generate_request(generate, prompts, temperature=5.0, top_p=1e-6, seed=1) == greedy  # tiny top_p is greedy
    assert generate_request(generate, prompts, temperature=5.0, top_k=2, seed=1) != hot[1]  # top_k changes the draw


def test_an_empty_prompt_starts_from_a_line_break(apps):
    generator = apps["generator"]
    empty = generator.generate("", max_length=6, temperature=0.0, return_details=True)
    line_break = generator.generate("\n", max_length=6, temperature=0.0, return_details=True)
    assert empty["generated"] == line_break["generated"] and empty["text"] == empty["generated"]


def test_replace_unknown_copies_the_attended_source_token():
    translator = rnnapps.Translator.from_vocabularies(["one", "two"], ["uno", "dos"], units=8, attention="luong")
    logits = translator.model.get_layer("logits")
    kernel, bias = logits.get_weights()
    bias[:] = -10.0
    bias[1] = 10.0  # the model now always says <unk> (id 1)
    logits.set_weights([np.zeros_like(kernel), bias])
    detail = translator.translate("zebra one quokka", max_length=3, return_details=True)
    assert detail.output_tokens and all(token in detail.source_tokens for token in detail.output_tokens)
    attended = [detail.source_tokens[i] for i in np.argmax(detail.attention, axis=-1)]
    assert detail.output_tokens == attended  # each <unk> became the source token it attends to most
    translator.replace_unknown = False
    translator._graphs.clear()
    assert set(translator.translate("zebra one quokka", max_length=3, return_details=True).output_tokens) == {"[UNK]"}
