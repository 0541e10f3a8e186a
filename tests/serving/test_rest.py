"""`rnnapps serve`'s REST API against TF Serving's: status, metadata, both predict formats,
signatures, versions and their switch, errors and limits, CORS, work off the event loop."""

import os
import shutil
import threading
import time

import numpy as np
import pytest
import tensorflow as tf

from tests.serving.conftest import LIMITS, wait_for

TEXTS = ["what a wonderful film", "dull and long", ""]


def served_version(server, name):
    status, payload = server.get(f"/v1/models/{name}")
    return [(int(v["version"]), v["state"]) for v in payload["model_version_status"]] if status == 200 else status


def test_status_and_metadata_look_like_tf_serving(server):
    status, payload = server.get("/v1/models/sentiment")
    assert status == 200
    assert payload == {"model_version_status": [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}
    assert server.get("/v1/models/sentiment/versions/1")[0] == 200
    status, payload = server.get("/v1/models/translator/metadata")
    assert status == 200 and payload["model_spec"] == {"name": "translator", "signature_name": "", "version": "1"}
    signatures = payload["metadata"]["signature_def"]["signature_def"]
    assert {"serving_default", "translate", "greedy"} <= set(signatures)
    translate = signatures["translate"]
    assert translate["inputs"]["source"]["dtype"] == "DT_STRING"
    assert translate["inputs"]["max_length"]["tensor_shape"]["dim"] == []
    assert {"attention", "source_tokens", "tokens", "translations", "scores"} <= set(translate["outputs"])
    assert translate["method_name"] == "tensorflow/serving/predict"


@pytest.mark.parametrize("path, code", [
    ("/v1/models/nope", 404), ("/v1/models/nope/metadata", 404), ("/v1/models/sentiment/versions/7", 404),
    ("/v1/models/sentiment/versions/7/metadata", 404), ("/v1/models", 400), ("/v1/models/sentiment/labels/stable", 404),
])
def test_get_errors_have_tf_servings_shape_and_status(server, path, code):
    status, payload = server.get(path)
    assert status == code and set(payload) == {"error"} and payload["error"]


def test_row_and_columnar_formats_answer_like_the_savedmodel(server, tiny_exports):
    expected = tf.saved_model.load(tiny_exports["sentiment"]).signatures["serving_default"](text=tf.constant(TEXTS))
    status, rows = server.post("/v1/models/sentiment:predict", {"instances": TEXTS})
    assert status == 200 and len(rows["predictions"]) == 3
    status, columns = server.post("/v1/models/sentiment/versions/1:predict", {"signature_name": "serving_default", "inputs": {"text": TEXTS}})
    assert status == 200
    outputs = columns["outputs"]
    assert outputs["label"] == [label.decode() for label in expected["label"].numpy()]
    assert outputs["class_id"] == expected["class_id"].numpy().tolist()
    np.testing.assert_allclose(outputs["probabilities"], expected["probabilities"].numpy(), rtol=1e-5, atol=1e-6)
    assert outputs["classes"][0] == [c.decode() for c in expected["classes"].numpy()[0]]
    for index, row in enumerate(rows["predictions"]):
        assert row["label"] == outputs["label"][index] and row["class_id"] == outputs["class_id"][index]
        np.testing.assert_allclose(row["probabilities"], outputs["probabilities"][index], rtol=1e-5, atol=1e-6)
    # One output: TF Serving leaves out its name, in both formats; an unnamed "inputs" value works too.
    status, single = server.post("/v1/models/translator:predict", {"instances": ["one two"]})
    assert status == 200 and isinstance(single["predictions"][0], str)
    status, single = server.post("/v1/models/translator:predict", {"inputs": ["one two"]})
    assert status == 200 and isinstance(single["outputs"], list) and isinstance(single["outputs"][0], str)


def test_signatures_with_knobs(server):
    knobs = {"prompt": ["the"], "max_length": 30, "temperature": 0.8, "top_k": 5, "top_p": 0.9, "seed": 3}
    first = server.post("/v1/models/language_model:predict", {"signature_name": "generate", "inputs": knobs})
    again = server.post("/v1/models/language_model:predict", {"signature_name": "generate", "inputs": knobs})
    assert first[0] == 200 and first == again  # a seed reproduces a text
    assert first[1]["outputs"]["text"][0].startswith("the") and len(first[1]["outputs"]["token_ids"][0]) <= 30
    poem = {"form": "wujue", "acrostic": ["春秋"], "first_line": [""], "mood": [""], "rhyme": False,
            "no_repeat": True, "temperature": 0.8, "top_k": 0, "seed": 1}
    status, payload = server.post("/v1/models/poetry:predict", {"signature_name": "generate", "inputs": poem})
    assert status == 200
    lines = payload["outputs"]["poem"][0].replace("。", "，").strip("，").split("，")
    assert len(lines) == 4 and all(len(line) == 5 for line in lines) and lines[0][0] == "春" and lines[1][0] == "秋"
    status, payload = server.post("/v1/models/translator:predict", {"signature_name": "translate", "inputs": {"source": ["one two three"], "max_length": 8}})
    assert status == 200
    outputs = payload["outputs"]
    steps = len(outputs["tokens"][0])
    assert outputs["source_tokens"] == [["one", "two", "three"]]
    assert np.shape(outputs["attention"]) == (1, steps, 3)


@pytest.mark.parametrize("body, message", [
    (b"{not json", "not valid JSON"),
    ({"instances": ["a"], "inputs": {"text": ["a"]}}, "not both"),
    ({"instances": []}, "empty"),
    ({"inputs": {"txt": ["a"]}}, "missing ['text']"),
    ({"signature_name": "nope", "inputs": {"text": ["a"]}}, "no signature 'nope'"),
    ({"signature_name": 3, "inputs": {"text": ["a"]}}, "must be a string"),
    ({"inputs": {"text": [1, 2]}}, "holds strings"),
    ({"inputs": {"text": [["a"], ["b", "c"]]}}, "not a dense tensor"),
    ({"inputs": {"text": [["a"]]}}, "must be shape"),
    ({"inputs": {"text": ["x"] * (LIMITS["--max-rows"] + 1)}}, "at most 16 per request"),
    ({"inputs": {"text": ["x" * (LIMITS["--max-string-bytes"] + 1)]}}, "at most 2000"),
    ({"inputs": {"text": ["x" * 1900] * 12}}, "at most 20000"),
])
def test_bad_requests_get_400_with_a_message(server, body, message):
    status, payload = server.post("/v1/models/sentiment:predict", body)
    assert status == 400 and set(payload) == {"error"}
    assert message in payload["error"]


def test_graph_errors_limits_and_unimplemented_methods(server):
    knobs = {"prompt": ["the"], "max_length": LIMITS["--max-new-tokens"] + 1, "temperature": 1.0, "top_k": 0, "top_p": 1.0, "seed": 0}
    status, payload = server.post("/v1/models/language_model:predict", {"signature_name": "generate", "inputs": knobs})
    assert status == 400 and "at most 500 tokens" in payload["error"]
    knobs["max_length"] = 2**40
    assert "does not fit in int32" in server.post("/v1/models/language_model:predict", {"signature_name": "generate", "inputs": knobs})[1]["error"]
    poem = {"form": "sonnet", "acrostic": [""], "first_line": [""], "mood": [""], "rhyme": False, "no_repeat": False,
            "temperature": 0.8, "top_k": 0, "seed": 1}
    status, payload = server.post("/v1/models/poetry:predict", {"signature_name": "generate", "inputs": poem})
    assert status == 400 and "sonnet" in payload["error"]  # the export's own check, raised inside the graph
    assert server.post("/v1/models/sentiment:classify", {"examples": []})[0] == 501
    assert server.post("/v1/models/nope:predict", {"instances": ["a"]})[0] == 404
    assert server.post("/v1/models/sentiment/versions/9:predict", {"instances": ["a"]})[0] == 404
    assert server.get("/v1/models/sentiment")[0] == 200  # still serving


def test_cors_headers_and_preflight(server):
    status, headers, _ = server.request("GET", "/v1/models/sentiment")
    assert headers["access-control-allow-origin"] == "*"
    status, headers, _ = server.request("OPTIONS", "/v1/models/sentiment:predict", headers={
        "Origin": "http://example.org", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert status == 200 and "POST" in headers["access-control-allow-methods"]


def test_a_long_request_does_not_block_the_event_loop(server):
    done = {}

    def generate():
        done["long"] = server.post("/v1/models/poetry:predict", {"inputs": {"prompt": ["春"] * 16}})
        done["at"] = time.perf_counter()

    slow = [threading.Thread(target=generate) for _ in range(3)]
    for thread in slow:
        thread.start()
    time.sleep(0.05)
    started = time.perf_counter()
    assert server.get("/v1/models/sentiment")[0] == 200
    answered = time.perf_counter()
    for thread in slow:
        thread.join()
    assert done["long"][0] == 200
    # The status came back while the three poems (200 tokens x 16 rows each) were still being written.
    assert answered < done["at"], (answered - started, done["at"] - started)


def test_new_versions_are_picked_up_and_rolled_back(server):
    base = server.switch_base
    assert served_version(server, "switch") == [(1, "AVAILABLE")]
    # Publish version 2 the way exports do: complete in a hidden folder, then renamed into place.
    shutil.copytree(base / "1", base / ".tmp-2")
    os.rename(base / ".tmp-2", base / "2")
    wait_for(lambda: served_version(server, "switch")[0] == (2, "AVAILABLE"), 60, "version 2", server)
    assert served_version(server, "switch") == [(2, "AVAILABLE"), (1, "END")]
    assert server.post("/v1/models/switch:predict", {"instances": ["good"]})[0] == 200
    assert server.post("/v1/models/switch/versions/1:predict", {"instances": ["good"]})[0] == 404  # only the highest is served
    status, payload = server.get("/v1/models/switch/metadata")
    assert payload["model_spec"]["version"] == "2"
    # A broken version 3 is not switched to: version 2 keeps serving.
    (base / "3").mkdir()
    (base / "3" / "saved_model.pb").write_bytes(b"not a SavedModel")
    def failed():
        status, payload = server.get("/v1/models/switch/versions/3")
        return status == 200 and payload["model_version_status"][0]["status"]["error_code"] == "UNAVAILABLE"

    wait_for(failed, 60, "version 3 to fail", server)
    assert (2, "AVAILABLE") in served_version(server, "switch")
    assert server.post("/v1/models/switch:predict", {"instances": ["good"]})[0] == 200
    # Rolling back: remove the newer versions; version 1 is loaded again.
    shutil.rmtree(base / "3")
    shutil.rmtree(base / "2")
    wait_for(lambda: (1, "AVAILABLE") in served_version(server, "switch") and (2, "END") in served_version(server, "switch"), 60, "version 1 again", server)
    assert server.post("/v1/models/switch:predict", {"instances": ["good"]})[0] == 200
    assert "switch version 2 unloaded" in server.log()
