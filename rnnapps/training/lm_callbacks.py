"""Language-model callbacks: perplexity / bits-per-character logs and sample printing."""

import importlib.util
import math
import os

import keras
import tensorflow as tf


def perplexity_figures(mean_nll, chars_per_token=1.0):
    """Per-token mean NLL (nats) -> `(perplexity, bits_per_char)`.

    Bits per character spreads the per-token loss over the characters a token covers
    (1 for a char-level model, the mean word length plus space for a word-level one).

    Example:
        >>> perplexity_figures(math.log(4.0))
        (4.0, 2.0)
    """
    mean_nll = float(mean_nll)
    perplexity = math.exp(min(mean_nll, 700.0))  # exp overflows past ~709
    return perplexity, mean_nll / math.log(2.0) / float(chars_per_token)


class PerplexityLogger(keras.callbacks.Callback):
    """Adds `perplexity`, `bits_per_char` (and their `val_` twins) to the epoch logs.

    They are computed from the epoch's mean token cross-entropy (`loss`, which ignores
    padding), so History, the progress bar, TensorBoard and EarlyStopping all see them.

    Args:
        chars_per_token: characters per token in the training text (1 at char level).
    """

    def __init__(self, chars_per_token=1.0):
        super().__init__()
        self.chars_per_token = float(chars_per_token)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        for prefix in ("", "val_"):
            if f"{prefix}loss" in logs:
                perplexity, bpc = perplexity_figures(logs[f"{prefix}loss"], self.chars_per_token)
                logs[f"{prefix}perplexity"] = perplexity
                logs[f"{prefix}bits_per_char"] = bpc


class SampleText(keras.callbacks.Callback):
    """Prints (and logs to TensorBoard) generated samples every `every` epochs.

    Args:
        generate: `generate(prompts, temperature=..., max_length=..., seed=...)` -> list of texts.
        prompts: prompts to continue.
        every: epochs between samples.
        temperatures: one sample per prompt at each temperature.
        max_length: new tokens per sample.
        tensorboard_dir: also append the samples to `<dir>/samples.txt` and, when the
            `tensorboard` package is installed, write them as TensorBoard text summaries.
        seed: sampling seed (the same every time, so samples compare across epochs).
        print_fn: where the samples go (default: `print`).
    """

    def __init__(
        self, generate, prompts, every=1, temperatures=(0.5, 1.0), max_length=200,
        tensorboard_dir=None, seed=0, print_fn=print,
    ):
        super().__init__()
        self.generate = generate
        self.prompts = list(prompts)
        self.every = max(1, int(every))
        self.temperatures = tuple(temperatures)
        self.max_length = int(max_length)
        self.seed = seed
        self.print_fn = print_fn
        self.samples = []  # (epoch, temperature, prompt, text) of every sample taken
        self.tensorboard_dir = None if tensorboard_dir is None else os.fspath(tensorboard_dir)
        self._writer = None
        # Text summaries need the tensorboard package (TF alone only writes scalars).
        if self.tensorboard_dir and importlib.util.find_spec("tensorboard") is not None:
            self._writer = tf.summary.create_file_writer(self.tensorboard_dir)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        lines = [f"\n--- samples after epoch {epoch + 1} ---"]
        for temperature in self.temperatures:
            texts = self.generate(self.prompts, temperature=temperature, max_length=self.max_length, seed=self.seed)
            for prompt, text in zip(self.prompts, texts):
                self.samples.append((epoch + 1, temperature, prompt, text))
                lines.append(f"[temperature {temperature}] {text}")
                if self._writer is not None:
                    with self._writer.as_default():
                        tf.summary.text(f"samples/temperature_{temperature}", f"{text}", step=epoch + 1)
        self.print_fn("\n".join(lines))
        if self._writer is not None:
            self._writer.flush()
        if self.tensorboard_dir:
            os.makedirs(self.tensorboard_dir, exist_ok=True)
            with open(os.path.join(self.tensorboard_dir, "samples.txt"), "a", encoding="utf-8") as handle:
                handle.write("\n".join(lines) + "\n")
