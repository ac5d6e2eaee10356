"""L2-regularised logistic regression in numpy: one binary classifier over embeddings.

Small enough to train at load time (a few hundred rows of 384 floats, Newton steps on
a 385 x 385 system), so the concept classifiers are rebuilt from the exemplars in
``rubrics/concepts.yaml`` rather than shipped as opaque weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LogisticModel:
    """``p(x) = sigmoid(x @ weights + bias)``."""

    weights: FloatArray
    bias: float

    def decision(self, x: npt.NDArray[np.floating]) -> FloatArray:
        return np.asarray(x, dtype=np.float64) @ self.weights + self.bias

    def probability(self, x: npt.NDArray[np.floating]) -> FloatArray:
        return _sigmoid(self.decision(x))


def _sigmoid(z: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0))), dtype=np.float64)


def fit_logistic(
    x: npt.NDArray[np.floating],
    y: npt.NDArray[np.bool_],
    l2: float = 1.0,
    iterations: int = 25,
) -> LogisticModel:
    """Fit by Newton's method with classes weighted to equal total weight.

    Balanced weights matter: a concept has tens of examples against hundreds of
    negatives, and unweighted it would learn to say "no" everywhere.
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    n, d = xs.shape
    pos = max(float(ys.sum()), 1.0)
    neg = max(float(n - ys.sum()), 1.0)
    sample_w = np.where(ys > 0, n / (2 * pos), n / (2 * neg))
    design = np.hstack([xs, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(iterations):
        p = _sigmoid(design @ theta)
        grad = design.T @ (sample_w * (p - ys)) + penalty * theta
        curvature = sample_w * p * (1 - p)
        hessian = (design * curvature[:, None]).T @ design + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, grad)
        theta -= step
        if float(np.abs(step).max()) < 1e-6:
            break
    return LogisticModel(weights=theta[:-1], bias=float(theta[-1]))
