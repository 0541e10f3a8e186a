"""The loops inside serving signatures: SavedModel round trip with per-request knobs as tensors."""

import numpy as np
import tensorflow as tf

from rnnapps.decoding import BanTokens, beam_search, sample
from tests.decoding.toys import LstmStep

SAMPLE_SIGNATURE = [
    tf.TensorSpec([None], tf.int32, name="start"),
    tf.TensorSpec([], tf.int32, name="max_new_tokens"),
    tf.TensorSpec([], tf.float32, name="temperature"),
    tf.TensorSpec([], tf.int32, name="top_k"),
    tf.TensorSpec([], tf.float32, name="top_p"),
    tf.TensorSpec([2], tf.int64, name="seed"),
]
BEAM_SIGNATURE = [
    tf.TensorSpec([None], tf.int32, name="start"),
    tf.TensorSpec([], tf.int32, name="max_new_tokens"),
    tf.TensorSpec([], tf.float32, name="length_penalty"),
]


class Generator(tf.Module):
    """A toy LSTM language model with a sampling and a beam-search endpoint."""

    def __init__(self):
        super().__init__()
        self.model = LstmStep(vocab=9, units=8, seed=5)
        self.embedding, self.cell, self.dense = self.model.embedding, self.model.cell, self.model.dense

    @tf.function(input_signature=SAMPLE_SIGNATURE)
    def generate(self, start, max_new_tokens, temperature, top_k, top_p, seed):
        states = self.model.initial_states(tf.shape(start)[0])
        result = sample(
            self.model, start, states, max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
            seed=seed, stop_ids=[2], processor=BanTokens([0]),
        )
        return {"tokens": result.tokens, "lengths": result.lengths, "finished": result.finished,
                "log_probs": result.log_probs, "hidden": result.aux["hidden"]}

    @tf.function(input_signature=BEAM_SIGNATURE)
    def search(self, start, max_new_tokens, length_penalty):
        states = self.model.initial_states(tf.shape(start)[0])
        result = beam_search(
            self.model, start, states, max_new_tokens, 3, end_id=2, length_penalty=length_penalty, num_results=2
        )
        return {"tokens": result.tokens, "scores": result.scores, "hidden": result.aux["hidden"]}


def request(*values, specs=SAMPLE_SIGNATURE):
    return tuple(tf.constant(value, spec.dtype) for value, spec in zip(values, specs))


def test_saved_model_round_trip_gives_the_same_outputs(tmp_path):
    module = Generator()
    requests = [  # start, max_new_tokens, temperature, top_k, top_p, seed; the last one all odd values
        request([1, 3, 4, 7, 8], 12, 0.8, 5, 0.9, [4, 2]),
        request([5], 6, 0.0, 0, 1.0, [0, 0]),
        request([5, 6], -1, -2.0, -3, 7.0, [1, 1]),
    ]
    beams = [request([1, 6, 7], 8, 0.6, specs=BEAM_SIGNATURE), request([3], 0, 0.0, specs=BEAM_SIGNATURE)]
    expected = [module.generate(*r) for r in requests] + [module.search(*b) for b in beams]
    path = str(tmp_path / "generator")
    tf.saved_model.save(module, path, signatures={"generate": module.generate, "search": module.search})
    loaded = tf.saved_model.load(path)
    actual = [loaded.generate(*r) for r in requests] + [loaded.search(*b) for b in beams]
    # The serving signatures take keyword tensors named after the TensorSpecs.
    served = loaded.signatures["generate"](**{spec.name: value for spec, value in zip(SAMPLE_SIGNATURE, requests[0])})
    actual.append(served)
    expected.append(expected[0])
    for want, got in zip(expected, actual):
        assert sorted(want) == sorted(got)
        for key in want:
            np.testing.assert_allclose(got[key].numpy(), want[key].numpy(), rtol=1e-5, atol=1e-6, err_msg=key)
    tokens, lengths = expected[0]["tokens"].numpy(), expected[0]["lengths"].numpy()
    real = np.arange(tokens.shape[1])[None, :] < lengths[:, None]
    assert tokens.shape[0] == 5 and (tokens[real] != 0).all()  # BanTokens([0]) held
    assert expected[2]["tokens"].shape == (2, 0)
    assert expected[4]["tokens"].shape == (1, 2, 0)
