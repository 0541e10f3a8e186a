"""Corpus BLEU: hand-computed cases, sacreBLEU's 13a tokenisation, keras_hub agreement, the callback."""

import math

import keras
import numpy as np
import pytest

from rnnapps.errors import ConfigError, DataError
from rnnapps.training.bleu import BleuCallback, BleuScore, corpus_bleu, tokenize_13a


def test_hand_computed_example():
    # hypothesis "the cat sat on a mat ." vs reference "the cat sat on the mat ." (7 tokens each):
    #   1-grams: the cat sat on mat .            6 of 7 ("a" is not in the reference)
    #   2-grams: the-cat cat-sat sat-on mat-.    4 of 6
    #   3-grams: the-cat-sat cat-sat-on          2 of 5
    #   4-grams: the-cat-sat-on                  1 of 4
    #   BLEU = (6/7 * 4/6 * 2/5 * 1/4) ** (1/4) = (2/35) ** 0.25 = 0.48892..., no brevity penalty.
    result = corpus_bleu(["The cat sat on the mat."], ["the cat sat on a mat."])
    assert isinstance(result, BleuScore)
    assert result.score == pytest.approx(100 * (2 / 35) ** 0.25, abs=1e-9)
    assert result.precisions == pytest.approx([600 / 7, 400 / 6, 40.0, 25.0])
    assert result.matches == [6, 4, 2, 1] and result.totals == [7, 6, 5, 4]
    assert result.brevity_penalty == 1.0
    assert (result.hypothesis_length, result.reference_length) == (7, 7)
    assert "BLEU = 48.89" in str(result)


def test_perfect_match_no_overlap_and_brevity_penalty():
    same = ["have a good day", "see you very soon, my friend."]
    assert corpus_bleu(same, same).score == pytest.approx(100.0)
    # A corpus without any 4-gram has no 4-gram precision: 0 by definition, unless smoothed.
    assert corpus_bleu(["a good day"], ["a good day"]).score == 0.0
    assert corpus_bleu(["a good day"], ["a good day"], smooth=True).score == pytest.approx(100.0)
    assert corpus_bleu(["a good day"], ["nothing alike here"]).score == 0.0
    # 5 hypothesis tokens, all n-grams match, reference 6 tokens: BLEU = exp(1 - 6/5) = 0.8187...
    short = corpus_bleu(["the cat sat on the mat"], ["the cat sat on the"])
    assert short.precisions == pytest.approx([100.0] * 4)
    assert short.brevity_penalty == pytest.approx(math.exp(-0.2))
    assert short.score == pytest.approx(100 * math.exp(-0.2))
    # Longer than the reference: no penalty (precision pays instead).
    assert corpus_bleu(["the cat"], ["the cat the cat"]).brevity_penalty == 1.0


def test_multiple_references():
    # hypothesis "a cat is on the mat" (6 tokens) vs R1 "the cat is on the mat" and R2 "there is a cat on the mat":
    #   1-grams 6/6 ("a" from R2), 2-grams 5/5 ("a cat" from R2), 3-grams 3/4, 4-grams 2/3;
    #   reference length 6 (R1 is the closest), so BLEU = (3/4 * 2/3) ** (1/4) = 0.5 ** 0.25.
    references = [["the cat is on the mat", "there is a cat on the mat"]]
    both = corpus_bleu(references, ["a cat is on the mat"])
    assert both.score == pytest.approx(100 * 0.5**0.25)
    assert both.reference_length == 6
    # With R1 only: 5/6, 4/5, 3/4, 2/3 -> (1/3) ** (1/4).
    assert corpus_bleu(["the cat is on the mat"], ["a cat is on the mat"]).score == pytest.approx(100 * (1 / 3) ** 0.25)
    # Equally close references (4 and 6 tokens for 5): the shorter one counts, as in sacreBLEU.
    assert corpus_bleu([("a b c d", "a b c d e f")], ["a b c d e"]).reference_length == 4
    # Clipping by the maximum count over the references: "the" appears at most twice.
    clipped = corpus_bleu([["the cat", "the the mat"]], ["the the the"], max_order=1)
    assert clipped.matches == [2] and clipped.totals == [3]


def test_13a_tokenisation_and_case():
    assert tokenize_13a("It costs $3.50, isn't it?") == ["It", "costs", "$", "3.50", ",", "isn't", "it", "?"]
    assert tokenize_13a("1,000 people (approx.) on 2021-03-03.") == [
        "1,000", "people", "(", "approx", ".", ")", "on", "2021", "-", "03", "-", "03", ".",
    ]
    assert tokenize_13a("well-known &quot;quotes&quot; &amp; a/b") == ["well-known", '"', "quotes", '"', "&", "a", "/", "b"]
    # sacreBLEU pads the line with spaces, so a final period splits off even after a digit.
    assert tokenize_13a("at 10:30.") == ["at", "10", ":", "30", "."]
    assert corpus_bleu(["Hello big World !"], ["hello big world!"]).score == pytest.approx(100.0)
    assert corpus_bleu(["Hello big World !"], ["hello big world!"], lowercase=False).score < 100.0
    # Pre-tokenised text: "world!" and "world !" differ without 13a.
    assert corpus_bleu(["hello big world!"], ["hello big world !"], tokenize="none").score == 0.0


def test_empty_inputs_and_errors():
    assert corpus_bleu([], []).score == 0.0
    empty = corpus_bleu(["a reference"], [""])
    assert empty.score == 0.0 and empty.brevity_penalty == 0.0 and empty.hypothesis_length == 0
    assert corpus_bleu(["a b c d"], ["a b"]).score == 0.0  # no 3-grams at all
    assert corpus_bleu(["a b c d"], ["a b"], smooth=True).score > 0.0
    assert corpus_bleu([b"caf\xc3\xa9 is ok now"], [np.bytes_(b"caf\xc3\xa9 is ok now")]).score == pytest.approx(100.0)
    with pytest.raises(DataError, match="2 hypotheses and 1 references"):
        corpus_bleu(["a"], ["a", "b"])
    with pytest.raises(DataError, match="reference 0"):
        corpus_bleu([[]], ["a"])
    with pytest.raises(ConfigError, match="tokenize"):
        corpus_bleu(["a"], ["a"], tokenize="intl")


CORPUS_REFERENCES = [
    "the weather is nice today, isn't it?",
    "i paid $3.50 for 2 coffees at 10:30 today.",
    "she said \"hello\" (quietly) and left the room.",
    "they will arrive on 2021-03-03 with 1,000 books.",
]
CORPUS_HYPOTHESES = [
    "the weather is good today, isn't it?",
    "i paid $3.50 for two coffees at 10:30 today.",
    "she said \"hello\" and quietly left the room.",
    "they arrive on 2021-03-03 with 1,000 books",
]


@pytest.mark.parametrize("smooth", [False, True])
def test_agrees_with_keras_hub(smooth):
    # keras_hub replicates sacreBLEU's 13a except that it keeps "30." whole at the very end
    # of a line (sacreBLEU splits it): the sentences here avoid that case.
    import keras_hub  # a required dependency: imported, not skipped
    metric = keras_hub.metrics.Bleu(smooth=smooth)
    expected = float(metric([[r] for r in CORPUS_REFERENCES], CORPUS_HYPOTHESES))
    ours = corpus_bleu(CORPUS_REFERENCES, CORPUS_HYPOTHESES, smooth=smooth).score / 100
    assert 0.2 < ours < 0.9
    assert ours == pytest.approx(expected, abs=1e-5)
    # Several references, hypotheses at least as long as each (keras_hub takes the shortest
    # reference length, sacreBLEU the closest: they coincide here).
    multi = [[r, r.replace("the", "a")] for r in CORPUS_REFERENCES[:3]]
    expected = float(keras_hub.metrics.Bleu(smooth=smooth)(multi, CORPUS_HYPOTHESES[:3]))
    assert corpus_bleu(multi, CORPUS_HYPOTHESES[:3], smooth=smooth).score / 100 == pytest.approx(expected, abs=1e-5)


def test_bleu_callback_logs_val_bleu(capsys):
    sources = ["hola mundo", "buenos días"]
    dictionary = {"hola mundo": "hello to the world", "buenos días": "good morning to you"}
    calls = []

    def translate(batch):
        calls.append(list(batch))
        return [dictionary[s] for s in batch]

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    callback = BleuCallback(translate, sources, ["hello to the world", ["good morning to you", "good day"]], every=2)
    history = model.fit(np.zeros((4, 1)), np.zeros((4, 1)), epochs=4, verbose=0, callbacks=[callback])
    assert history.history["val_bleu"] == [pytest.approx(100.0)] * 2  # epochs 2 and 4
    assert calls == [sources, sources]
    assert callback.last_score.score == pytest.approx(100.0)
    assert "Epoch 4: val_bleu = 100.00" in capsys.readouterr().out
    logs = {}
    partly = BleuCallback(lambda batch: ["hello to the world", "bad"], sources, list(dictionary.values()), verbose=0)
    partly.on_epoch_end(0, logs)
    assert 0.0 < logs["val_bleu"] < 100.0
    with pytest.raises(ConfigError, match="every"):
        BleuCallback(translate, sources, ["a", "b"], every=0)
    with pytest.raises(DataError, match="2 hypotheses and 1 references"):
        BleuCallback(translate, sources, ["a"])
