"""Speed: the in-graph loop against a Python loop carrying the state (large: timing on a shared CPU)."""

import time

import pytest
import tensorflow as tf

from rnnapps.decoding import sample
from tests.decoding.toys import LstmStep


@pytest.mark.large
def test_in_graph_sampling_is_ten_times_faster_than_a_python_loop_at_batch_one():
    model = LstmStep(vocab=200, units=128)
    steps = 200
    start = tf.constant([1])

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32), tf.TensorSpec([], tf.int32)])
    def generate(start, max_new):
        return sample(model, start, model.initial_states(tf.shape(start)[0]), max_new, seed=(1, 2)).tokens

    generate(start, tf.constant(2))  # trace
    began = time.perf_counter()
    assert generate(start, tf.constant(steps)).shape == (1, steps)
    in_graph = time.perf_counter() - began

    token, states = start, model.initial_states(1)
    began = time.perf_counter()
    for index in range(steps // 4):  # a quarter of the steps is enough to time it
        logits, states, _ = model(token, states)
        token = tf.random.stateless_categorical(logits, 1, (1, index), dtype=tf.int32)[:, 0]
    python_loop = (time.perf_counter() - began) * 4
    print(f"python loop {python_loop:.3f}s, in-graph {in_graph:.3f}s: {python_loop / in_graph:.0f}x")
    assert python_loop / in_graph >= 10, (python_loop, in_graph)
