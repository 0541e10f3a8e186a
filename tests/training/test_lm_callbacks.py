"""Perplexity / bits-per-character logging and the sample-printing callback."""

import math

import pytest

from rnnapps.training.lm_callbacks import PerplexityLogger, SampleText, perplexity_figures


def test_perplexity_figures():
    assert perplexity_figures(math.log(50)) == pytest.approx((50.0, math.log2(50)))
    # Word level: 2 bits per token over 4 characters per token is half a bit per character.
    assert perplexity_figures(2 * math.log(2), chars_per_token=4)[1] == pytest.approx(0.5)
    assert math.isfinite(perplexity_figures(1e6)[0])


def test_perplexity_logger_adds_figures_for_train_and_validation():
    logs = {"loss": math.log(8), "val_loss": math.log(16)}
    PerplexityLogger(chars_per_token=1.0).on_epoch_end(0, logs)
    assert logs["perplexity"] == pytest.approx(8) and logs["val_perplexity"] == pytest.approx(16)
    assert logs["bits_per_char"] == pytest.approx(3) and logs["val_bits_per_char"] == pytest.approx(4)


def test_sample_text_prints_every_n_epochs_at_each_temperature(tmp_path):
    calls, printed = [], []

    def generate(prompts, temperature, max_length, seed):
        calls.append((tuple(prompts), temperature, max_length, seed))
        return [f"{p}...{temperature}" for p in prompts]

    callback = SampleText(
        generate, ["a", "b"], every=2, temperatures=(0.5, 1.0), max_length=7,
        tensorboard_dir=str(tmp_path / "tb"), print_fn=printed.append,
    )
    for epoch in range(4):
        callback.on_epoch_end(epoch)
    assert [c[1] for c in calls] == [0.5, 1.0, 0.5, 1.0]
    assert all(c[2] == 7 for c in calls)
    assert len(printed) == 2 and "after epoch 2" in printed[0] and "a...0.5" in printed[0]
    assert [s[0] for s in callback.samples] == [2, 2, 2, 2, 4, 4, 4, 4]
    written = (tmp_path / "tb" / "samples.txt").read_text(encoding="utf-8")
    assert "after epoch 4" in written and "b...1.0" in written
