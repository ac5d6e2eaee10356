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


@dataclass(frozen=True)
class SparseBlock:
    """Binary features stored as (row, column) pairs, each worth ``value`` (word n-grams:
    a few per row out of thousands)."""

    rows: npt.NDArray[np.int64]
    cols: npt.NDArray[np.int64]
    width: int
    value: float

    def times(self, w: FloatArray) -> FloatArray:
        """(rows x classifiers) = this block @ ``w``."""
        out = np.zeros((int(self.rows.max(initial=-1)) + 1, w.shape[1]))
        np.add.at(out, self.rows, w[self.cols])
        return out * self.value

    def transposed_times(self, resid: FloatArray) -> FloatArray:
        """(width x classifiers) = this block transposed @ ``resid``."""
        out = np.zeros((self.width, resid.shape[1]))
        np.add.at(out, self.cols, resid[self.rows])
        return out * self.value


def fit_logistic_many(
    x: npt.NDArray[np.floating],
    targets: npt.NDArray[np.bool_],
    weights: npt.NDArray[np.floating],
    sparse: SparseBlock | None = None,
    l2: float = 1.0,
    steps: int = 400,
    rate: float = 0.05,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Many binary classifiers over the same rows at once, by full-batch Adam.

    ``targets`` and ``weights`` are (rows, classifiers): a row with weight 0 takes no
    part in that classifier. Within a classifier the two classes get equal total weight
    (as in ``fit_logistic``, which this matches on dense features), so one shared matrix
    product serves them all; that, and keeping word n-grams sparse, is what makes wide
    features cheap enough to train at load. Returns the dense-feature weights, the
    sparse-feature weights (0 rows without ``sparse``) and a bias per classifier.
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(targets, dtype=np.float64)
    used = np.asarray(weights, dtype=np.float64) > 0
    pos = np.maximum((ys * used).sum(axis=0), 1.0)
    neg = np.maximum(((1 - ys) * used).sum(axis=0), 1.0)
    n_used = used.sum(axis=0)
    sample_w = np.where(ys > 0, n_used / (2 * pos), n_used / (2 * neg)) * used
    scale = 1.0 / np.maximum(n_used, 1.0)  # a mean loss per classifier
    k = ys.shape[1]
    params = [np.zeros((xs.shape[1], k)), np.zeros((sparse.width if sparse else 0, k)), np.zeros(k)]
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for t in range(1, steps + 1):
        w, v, b = params
        z = xs @ w + b
        if sparse is not None:
            z += sparse.times(v)
        resid = sample_w * (_sigmoid(z) - ys) * scale
        grads = [
            xs.T @ resid + l2 * scale * w,
            (sparse.transposed_times(resid) if sparse is not None else v) + l2 * scale * v,
            resid.sum(axis=0),
        ]
        for i, (param, grad) in enumerate(zip(params, grads, strict=True)):
            m, s2 = moments[i]
            m = beta1 * m + (1 - beta1) * grad
            s2 = beta2 * s2 + (1 - beta2) * grad**2
            moments[i] = (m, s2)
            param -= rate * (m / (1 - beta1**t)) / (np.sqrt(s2 / (1 - beta2**t)) + eps)
    return params[0], params[1], params[2]
