"""`ends_promptly`: pipelines rnnapps iterates end without the autotuner's idle wait."""

import tensorflow as tf

from rnnapps.dataset_iteration import ends_promptly


def test_turns_autotuning_off_for_the_whole_pipeline_and_keeps_the_elements():
    source = tf.data.Dataset.range(10)
    data = ends_promptly(source).map(lambda x: x * 2, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    assert data.options().autotune.enabled is False  # set upstream, seen downstream
    assert [int(x) for x in data] == [2 * i for i in range(10)]
    assert source.options().autotune.enabled is not False  # the input dataset is left as it was


def test_leaves_other_iterables_alone():
    batches = [(1, 2), (3, 4)]
    assert ends_promptly(batches) is batches
