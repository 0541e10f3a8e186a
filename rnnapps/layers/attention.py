"""Attention of decoder queries over an encoded, padded source (Luong and Bahdanau scores).

`SourceAttention` scores every query step against every source step, takes a masked
softmax over the source and returns the weighted sum of the memory (the context):

    context, weights = SourceAttention("general")(query, memory, source_mask)

- `query`       `[B, Tq, Dq]`: decoder states. `Tq = 1` is one decoder step; `Tq = T`
                scores all teacher-forced steps at once (possible whenever the query
                does not depend on the previous step's attention output).
- `memory`      `[B, Ts, D]`: encoder outputs; they are both the keys and the values.
- `source_mask` `[B, Ts]`, bool or float (1/True = real token, 0/False = padding). It is
                an explicit input, not the Keras mask of `memory`, so a one-step decoder
                model that receives the memory as a plain `keras.Input` masks exactly like
                the teacher-forced model. None: every source step is valid.
- returns `context [B, Tq, D]` and `weights [B, Tq, Ts]`. Padding gets exactly zero
  weight and each row sums to 1 (a row with no valid source step is all zeros).

The layer always returns both tensors, so a later call's weights can be a model output
(the quirk of `keras.layers.Attention` with `return_attention_scores`).

`PaddingMask` turns the source ids into that float mask inside a model.
"""

import keras
from keras import ops

# "concat" (Luong et al., 2015: v . tanh(W [q; k])) and "additive" (Bahdanau et al.,
# 2015: v . tanh(W q + U k)) are the same function written two ways; both names are
# accepted so a config can say which paper it follows.
SCORES = ("dot", "general", "concat", "additive")


@keras.saving.register_keras_serializable(package="rnnapps")
class SourceAttention(keras.layers.Layer):
    """Masked global attention with the Luong `dot`/`general`/`concat` or Bahdanau score.

    Scores (q: a query step, k: a memory step):
        dot:                q . k              (needs Dq == D)
        general:            q . W k            (Luong's "general"; W is `[Dq, D]`)
        concat / additive:  v . tanh(Wq q + Wk k)   (hidden width `units`)

    Args:
        score: one of `SCORES`.
        units: hidden width of the concat/additive score (default: the query width);
            unused by "dot" and "general".

    Call arguments:
        query: `[B, Tq, Dq]`.
        memory: `[B, Ts, D]`.
        source_mask: optional `[B, Ts]` bool/float mask of the real source steps.

    Returns:
        `(context [B, Tq, D], weights [B, Tq, Ts])`; both carry the query's Keras mask.

    Example:
        >>> query, memory = keras.ops.ones((2, 1, 4)), keras.ops.ones((2, 3, 4))
        >>> context, weights = SourceAttention("dot")(query, memory, keras.ops.ones((2, 3)))
        >>> tuple(context.shape), tuple(weights.shape)
        ((2, 1, 4), (2, 1, 3))
    """

    def __init__(self, score="general", units=None, **kwargs):
        super().__init__(**kwargs)
        if score not in SCORES:
            raise ValueError(f"score must be one of {SCORES}, got {score!r}")
        if units is not None and int(units) < 1:
            raise ValueError(f"units must be >= 1, got {units}")
        self.score = score
        self.units = None if units is None else int(units)
        self.supports_masking = True

    def build(self, query_shape, memory_shape, source_mask_shape=None):
        query_width, memory_width = query_shape[-1], memory_shape[-1]
        if self.score == "dot" and query_width != memory_width:
            raise ValueError(
                f"the dot score needs queries as wide as the memory, got {query_width} and "
                f"{memory_width}: use score 'general' or 'concat'"
            )
        if self.score == "general":
            self.kernel = self.add_weight(shape=(query_width, memory_width), name="kernel")
        elif self.score in ("concat", "additive"):
            hidden = self.units or query_width
            self.query_kernel = self.add_weight(shape=(query_width, hidden), name="query_kernel")
            self.memory_kernel = self.add_weight(shape=(memory_width, hidden), name="memory_kernel")
            self.score_vector = self.add_weight(shape=(hidden,), name="score_vector")

    def project_memory(self, memory):
        """The keys the score compares queries with (memory, or `Wk memory` for concat).

        A decoder loop computes them once per source instead of once per step.
        """
        if self.score in ("concat", "additive"):
            return ops.matmul(memory, self.memory_kernel)
        return memory

    def attend(self, query, keys, memory, source_mask=None):
        """Context and weights from precomputed `keys = project_memory(memory)`."""
        if self.score == "dot":
            scores = ops.matmul(query, ops.transpose(keys, (0, 2, 1)))
        elif self.score == "general":
            # q . W k computed as (q W) . k: projects the few queries, not the whole memory.
            scores = ops.matmul(ops.matmul(query, self.kernel), ops.transpose(keys, (0, 2, 1)))
        else:
            hidden = ops.expand_dims(ops.matmul(query, self.query_kernel), 2) + ops.expand_dims(keys, 1)
            scores = ops.sum(ops.tanh(hidden) * self.score_vector, axis=-1)
        # Softmax in float32: -1e9 does not fit float16, and padding must get exactly 0.
        scores = ops.cast(scores, "float32")
        if source_mask is not None:
            valid = ops.expand_dims(ops.cast(source_mask, "bool"), 1)
            scores = ops.where(valid, scores, ops.full_like(scores, -1e9))
            weights = ops.softmax(scores, axis=-1) * ops.cast(valid, "float32")
        else:
            weights = ops.softmax(scores, axis=-1)
        weights = ops.cast(weights, self.compute_dtype)
        return ops.matmul(weights, memory), weights

    def call(self, query, memory, source_mask=None):
        return self.attend(query, self.project_memory(memory), memory, source_mask)

    def compute_mask(self, inputs, previous_mask=None):
        return (previous_mask, previous_mask)

    def compute_output_shape(self, query_shape, memory_shape, source_mask_shape=None):
        batch, steps = query_shape[0], query_shape[1]
        return (batch, steps, memory_shape[-1]), (batch, steps, memory_shape[1])

    def get_config(self):
        config = super().get_config()
        config.update(score=self.score, units=self.units)
        return config


@keras.saving.register_keras_serializable(package="rnnapps")
class PaddingMask(keras.layers.Layer):
    """Token ids `[B, T]` -> mask `[B, T]` in the layer's dtype: 1 at real tokens, 0 at padding.

    Args:
        padding_id: the id that marks padding.

    Example:
        >>> keras.ops.convert_to_numpy(PaddingMask()(keras.ops.array([[5, 2, 0]]))).tolist()
        [[1.0, 1.0, 0.0]]
    """

    def __init__(self, padding_id=0, **kwargs):
        super().__init__(**kwargs)
        self.padding_id = int(padding_id)

    def call(self, ids):
        return ops.cast(ops.not_equal(ids, self.padding_id), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(padding_id=self.padding_id)
        return config
