"""`TiedEmbedding`: embed with a matrix, score with its transpose."""

import numpy as np

from rnnapps.layers import TiedEmbedding
from tests.helpers import run_layer_test, run_serialization_test


def test_reverse_is_the_transposed_matrix_plus_bias(tmp_path):
    layer = TiedEmbedding(7, 3, mask_zero=True)
    ids = np.array([[2, 3, 0]])
    vectors = run_layer_test(layer, ids, (1, 3, 3), tmp_path)
    np.testing.assert_allclose(vectors[0, 0], layer.embeddings.numpy()[2])
    layer.output_bias.assign(np.arange(7, dtype="float32"))
    logits = layer(vectors, reverse=True).numpy()
    expected = vectors.numpy() @ layer.embeddings.numpy().T + np.arange(7)
    np.testing.assert_allclose(logits, expected, rtol=1e-6)
    assert layer.compute_mask(ids).numpy().tolist() == [[True, True, False]]


def test_config_round_trip():
    revived = run_serialization_test(TiedEmbedding(5, 2, mask_zero=True))
    assert revived.mask_zero and revived.input_dim == 5


def test_a_tied_language_model_trains_with_a_per_step_mask():
    """The reverse call keeps the sequence's [B, T] mask (it gave the loss a [B, T, D] mask)."""
    import rnnapps

    generator = rnnapps.TextGenerator(level="word", cell="lstm", units=8, embedding_dim=8, depth=1,
                                      sequence_length=8, tie_embeddings=True)
    text = "to be or not to be, that is the question.\nwhether tis nobler in the mind to suffer.\n" * 30
    generator.fit(text, epochs=1, batch_size=8, validation_split=0, verbose=0)
    assert generator.history.history["loss"][0] > 0
