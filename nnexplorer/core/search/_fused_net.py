"""Several independent copies of one network as one Keras model: the fused fits of a grid search.

:func:`stack_network` takes a compiled network built by :func:`nnexplorer.core.building.build_model`
(the template) and returns :class:`StackedNetwork`: every Dense layer's kernel becomes one
variable of shape ``(branches, inputs, units)`` and its bias one of ``(branches, 1, units)``, each
branch starting from the template's initial weights, so that every copy starts exactly where a
separate fit of that network would. A batch is ``(branches, rows, features)``: branch ``b``'s
rows meet only branch ``b``'s weights (batched matrix products), so the copies never mix.

Everything the template's layers do is done per branch: activations, dropout, the kernel, bias
and activity regularisers (one penalty per branch), the max-norm constraint (its axis moved past
the branch axis). The optimizer is the template's, built on the stacked variables: Keras
optimizers keep their state per variable element (Adam's moments, RMSprop's averages, ...), so
each branch's updates are exactly those of its own optimizer. Each branch has its own learning
rate (:class:`BranchRates`, a ``(branches, 1, 1)`` rate that broadcasts over every variable), and
``clipnorm`` clips each branch's gradient by its own norm. A network this cannot reproduce
raises :class:`NotFusable`.

TensorFlow and Keras are imported inside functions.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np


class NotFusable(Exception):
    """The network uses something that the stacked copies cannot reproduce exactly."""


def stack_network(template: Any, branches: int) -> StackedNetwork:
    """``branches`` copies of ``template``'s layers, each with the template's initial weights."""
    import keras

    layers: list[Any] = []
    for layer in template.layers:
        if isinstance(layer, keras.layers.Dense):
            layers.append(_classes()["FusedDense"](layer, branches))
        elif isinstance(layer, keras.layers.Dropout):
            layers.append(_classes()["FusedDropout"](layer))
        elif isinstance(layer, keras.layers.InputLayer):
            continue
        else:
            raise NotFusable(f"layer {layer.name} ({type(layer).__name__}) cannot be fused")
    return StackedNetwork(layers, branches)


class StackedNetwork:
    """The stacked layers; see the module docstring."""

    def __init__(self, layers: list[Any], branches: int):
        self.layers = layers
        self.branches = branches
        self.dense = [layer for layer in layers if hasattr(layer, "kernel")]

    @property
    def trainable_variables(self) -> list[Any]:
        """Every kernel and bias, in layer order."""
        return [v for layer in self.dense for v in layer.own_variables]

    @property
    def variables(self) -> list[Any]:
        """Weights and the dropout layers' random state."""
        out = list(self.trainable_variables)
        for layer in self.layers:
            if not hasattr(layer, "kernel"):
                out.append(layer.seed_generator.state)
        return out

    def __call__(self, x: Any, *, training: bool, rows: Any = None) -> tuple[Any, Any]:
        """Outputs ``(branches, n, units)`` and each branch's activity penalty ``(branches,)``.

        ``rows`` (``(branches, n)``, 1 for a real row, 0 for padding) keeps padding out of the
        activity penalties; it is only needed in training.
        """
        from keras import ops

        activity = ops.zeros((self.branches,))
        for layer in self.layers:
            x = layer(x, training=training)
            if training and getattr(layer, "activity_regularizer", None) is not None:
                activity = activity + layer.activity_penalty(x, rows)
        return x, activity

    def penalty(self) -> Any:
        """Each branch's weight penalty (kernel and bias regularisers), ``(branches,)``."""
        from keras import ops

        total = ops.zeros((self.branches,))
        for layer in self.dense:
            total = total + layer.weight_penalty()
        return total

    def branch_weights(self, branch: int) -> list[np.ndarray]:
        """Branch ``branch``'s weights as the template's layers hold them."""
        out = []
        for layer in self.dense:
            out.append(np.array(layer.kernel.numpy()[branch]))
            if layer.bias is not None:
                out.append(np.array(layer.bias.numpy()[branch, 0]))
        return out

    def set_branch_weights(self, branch: int, weights: list[np.ndarray]) -> None:
        """Set branch ``branch``'s weights (the others keep theirs)."""
        values = iter(weights)
        for layer in self.dense:
            for variable in layer.own_variables:
                whole = variable.numpy()
                whole[branch] = np.reshape(next(values), whole.shape[1:])
                variable.assign(whole)


def branch_penalty(regularizer: Any, weights: Any) -> Any:
    """``regularizer`` applied to each branch of ``weights`` (``(branches, ...)``): ``(branches,)``.

    L1, L2 and L1L2 are computed for all branches at once, as Keras computes them for one.
    """
    import keras
    from keras import ops

    axes = tuple(range(1, len(weights.shape)))
    known = (keras.regularizers.L1, keras.regularizers.L2, keras.regularizers.L1L2)
    if isinstance(regularizer, known):
        total = ops.zeros((weights.shape[0],), dtype=weights.dtype)
        l1 = float(getattr(regularizer, "l1", 0.0) or 0.0)
        l2 = float(getattr(regularizer, "l2", 0.0) or 0.0)
        if l1:
            total = total + l1 * ops.sum(ops.absolute(weights), axis=axes)
        if l2:
            total = total + l2 * ops.sum(ops.square(weights), axis=axes)
        return total
    return ops.stack([regularizer(weights[b]) for b in range(weights.shape[0])])


def stacked_constraint(constraint: Any) -> Any:
    """The constraint for a stacked kernel: max-norm with its axis past the branch axis."""
    import keras

    if constraint is None:
        return None
    if isinstance(constraint, keras.constraints.MaxNorm):
        axis = constraint.axis
        moved = [a + 1 if a >= 0 else a for a in axis] if isinstance(axis, list | tuple) else None
        if moved is None:
            moved = axis + 1 if axis >= 0 else axis
        return keras.constraints.MaxNorm(max_value=constraint.max_value, axis=moved)
    raise NotFusable(f"the constraint {type(constraint).__name__} cannot be fused")


def clip_by_branch_norm(gradient: Any, clipnorm: float) -> Any:
    """Keras' ``clipnorm`` for each branch of a stacked gradient on its own."""
    from keras import ops

    axes = tuple(range(1, len(gradient.shape)))
    l2sum = ops.sum(ops.square(gradient), axis=axes, keepdims=True)
    positive = l2sum > 0
    safe = ops.where(positive, l2sum, ops.ones_like(l2sum))
    norm = ops.where(positive, ops.sqrt(safe), l2sum)
    return gradient * clipnorm / ops.maximum(norm, clipnorm)


@functools.cache
def _classes() -> dict[str, type]:
    import keras
    from keras import ops

    class FusedDense(keras.layers.Layer):
        """A Dense layer's copies: kernel ``(branches, in, units)``, bias ``(branches, 1, units)``.

        Every variable has three axes, so that a ``(branches, 1, 1)`` learning rate broadcasts.
        """

        def __init__(self, template: Any, branches: int):
            super().__init__(name=template.name, activity_regularizer=template.activity_regularizer)
            if getattr(template, "bias_constraint", None) is not None:
                raise NotFusable(f"layer {template.name}: a bias constraint cannot be fused")
            if getattr(template, "lora_enabled", False) or template.dtype_policy.name != "float32":
                raise NotFusable(f"layer {template.name}: only float32 Dense layers are fused")
            weights = template.get_weights()
            kernel = np.stack([weights[0]] * branches)
            self.activation = template.activation
            self.kernel_regularizer = template.kernel_regularizer
            self.bias_regularizer = template.bias_regularizer
            self.kernel = self.add_weight(
                shape=kernel.shape,
                initializer=keras.initializers.Constant(kernel),
                constraint=stacked_constraint(template.kernel_constraint),
                name="kernel",
            )
            self.bias = None
            if template.use_bias:
                bias = np.stack([weights[1][None, :]] * branches)
                self.bias = self.add_weight(
                    shape=bias.shape, initializer=keras.initializers.Constant(bias), name="bias"
                )
            self.own_variables = [v for v in (self.kernel, self.bias) if v is not None]
            self.built = True

        def call(self, x: Any, training: bool = False) -> Any:
            y = ops.matmul(x, self.kernel)
            if self.bias is not None:
                y = y + self.bias
            return self.activation(y) if self.activation is not None else y

        def weight_penalty(self) -> Any:
            total = ops.zeros((self.kernel.shape[0],))
            if self.kernel_regularizer is not None:
                total = total + branch_penalty(self.kernel_regularizer, self.kernel)
            if self.bias is not None and self.bias_regularizer is not None:
                total = total + branch_penalty(self.bias_regularizer, self.bias)
            return total

        def activity_penalty(self, outputs: Any, rows: Any) -> Any:
            # Keras divides a layer's activity penalty by the rows of its batch.
            if rows is None:
                count = ops.cast(ops.shape(outputs)[1], outputs.dtype)
                masked = outputs
            else:
                count = ops.sum(rows, axis=1)
                masked = outputs * ops.expand_dims(rows, -1)
            penalty = branch_penalty(self.activity_regularizer, masked)
            return ops.divide_no_nan(penalty, count)

    class FusedDropout(keras.layers.Layer):
        """A Dropout layer: the same rate and seed; each element of each copy draws its own mask."""

        def __init__(self, template: Any):
            super().__init__(name=template.name)
            if getattr(template, "noise_shape", None) is not None:
                raise NotFusable(f"layer {template.name}: a noise shape cannot be fused")
            self.rate = float(template.rate)
            self.seed_generator = keras.random.SeedGenerator(template.seed)
            self.built = True

        def call(self, x: Any, training: bool = False) -> Any:
            if training and self.rate > 0:
                return keras.random.dropout(x, self.rate, seed=self.seed_generator)
            return x

    class BranchRates(keras.optimizers.schedules.LearningRateSchedule):
        """Each branch's learning rate, ``(branches, 1, 1)``: broadcasts over stacked variables."""

        def __init__(self, rates: Any):
            self.rates = rates

        def __call__(self, step: Any) -> Any:
            return ops.convert_to_tensor(self.rates)

        def get_config(self) -> dict[str, Any]:
            return {}

    return {"FusedDense": FusedDense, "FusedDropout": FusedDropout, "BranchRates": BranchRates}


def branch_rates(rates: list[float]) -> tuple[Any, Any]:
    """A learning-rate schedule giving each branch its rate, and the variable holding them."""
    import keras

    values = np.asarray(rates, dtype="float32").reshape(-1, 1, 1)
    variable = keras.Variable(values, trainable=False, name="branch_rates")
    return _classes()["BranchRates"](variable), variable
