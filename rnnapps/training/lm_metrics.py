"""Language-model evaluation: summed masked NLL over batches, and the reports of the
text generator and the poetry app."""

import dataclasses
import math

import tensorflow as tf

from rnnapps.training.lm_callbacks import perplexity_figures


def masked_nll(logits, targets):
    """Summed NLL (nats) of the real targets (id > 0) of one batch, and their count."""
    real = targets > 0
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
    return tf.reduce_sum(tf.where(real, losses, 0.0)), tf.reduce_sum(tf.cast(real, tf.int64))


def total_nll(scorer, batches, reader):
    """`(total NLL, scored tokens)` of `scorer` (ids -> logits) over `(inputs, targets)`
    batches, read under `reader.reading()` (the source's error trap)."""
    score = tf.function(lambda inputs, targets: masked_nll(scorer(inputs, training=False), targets), reduce_retracing=True)
    total, count = 0.0, 0
    with reader.reading():
        for inputs, targets in batches:
            nll, tokens = score(inputs, targets)
            total += float(nll)
            count += int(tokens)
    return total, count


@dataclasses.dataclass
class PerplexityReport:
    """Perplexity and bits per character of a model over a whole text.

    Attributes:
        perplexity: exp(mean negative log-likelihood per token).
        bits_per_char: total NLL in bits / characters of the text.
        bits_per_token: mean NLL per token in bits.
        num_tokens: tokens scored (every token after the first of each stream).
        num_chars: characters in the text.
    """

    perplexity: float
    bits_per_char: float
    bits_per_token: float
    num_tokens: int
    num_chars: int

    @classmethod
    def from_nll(cls, total, count, num_chars, level):
        """The report of a text's summed NLL `total` (nats) over `count` scored tokens of
        `level` ("char": a token is a character; "word": bits spread over `num_chars`)."""
        mean = total / max(1, count)
        perplexity, _ = perplexity_figures(mean)
        bits_per_token = mean / math.log(2.0)
        bits_per_char = total / math.log(2.0) / max(1, num_chars) if level == "word" else bits_per_token
        return cls(perplexity, bits_per_char, bits_per_token, count, num_chars)

    def to_dict(self):
        return dataclasses.asdict(self)

    def __str__(self):
        return (
            f"perplexity {self.perplexity:.3f}, {self.bits_per_char:.4f} bits/char, "
            f"{self.bits_per_token:.4f} bits/token over {self.num_tokens:,} tokens ({self.num_chars:,} chars)"
        )


@dataclasses.dataclass
class PoetryReport:
    """Held-out perplexity and form validity of sampled poems.

    Attributes:
        perplexity: exp(mean NLL per character) over the held-out poems (their
            characters and end markers; titles only prime).
        bits_per_char: the same NLL in bits.
        num_poems, num_tokens: held-out poems and scored tokens.
        form: the form the samples were asked for.
        num_samples: poems sampled each way.
        constrained_validity: share of poems sampled with the form constraints that
            are exactly of `form` (1.0 unless something is broken).
        free_validity: share of poems sampled without constraints that happen to be
            exactly of `form`.
        free_any_form_validity: share of those that are exactly of any regular form.
    """

    perplexity: float
    bits_per_char: float
    num_poems: int
    num_tokens: int
    form: str
    num_samples: int
    constrained_validity: float
    free_validity: float
    free_any_form_validity: float

    def to_dict(self):
        return dataclasses.asdict(self)

    def __str__(self):
        return (
            f"perplexity {self.perplexity:.2f} ({self.bits_per_char:.3f} bits/char) over {self.num_poems} poems "
            f"({self.num_tokens} chars); {self.form} validity of {self.num_samples} samples: "
            f"{self.constrained_validity:.0%} constrained, {self.free_validity:.0%} unconstrained "
            f"({self.free_any_form_validity:.0%} of any regular form)"
        )
