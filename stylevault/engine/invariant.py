"""Batch-invariant maths: each image of a batch comes out bit for bit as it would alone.

CPU (and GPU) kernels pick their blocking by the whole problem's shape, so a row of a batched
matrix product or convolution rounds differently from the same row computed alone (by ~1e-6,
enough to flip pixels). Inside `batch_invariant()` the two operations that mix the batch into
one problem run per row instead: linear layers as one batched product of per-row matrices of a
fixed shape, convolutions one image at a time. Everything else a diffusion model does (norms,
attention, activations, the scheduler) is already per image. Measured on the tiny model: equal
bytes for batches of 1, 2, 4 and 8; the VAE's mid-block attention is not, so decode one image
at a time (`vae.enable_slicing()`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> Any:
    if x.ndim < 2:
        return F.linear(x, weight, bias)
    rows = x.reshape(x.shape[0], -1, x.shape[-1])
    out = torch.bmm(rows, weight.t().unsqueeze(0).expand(x.shape[0], -1, -1))
    if bias is not None:
        out = out + bias
    return out.reshape(*x.shape[:-1], weight.shape[0])


def _conv2d(x: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
    if x.ndim != 4 or x.shape[0] == 1:
        return F.conv2d(x, *args, **kwargs)
    return torch.cat([F.conv2d(image, *args, **kwargs) for image in x.split(1)])


class _PerRow(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.linear:
            return _linear(*args, **kwargs)
        if func is F.conv2d:
            return _conv2d(*args, **kwargs)
        return func(*args, **kwargs)


@contextmanager
def batch_invariant(enabled: bool = True) -> Iterator[None]:
    """Within this block, linear layers and convolutions compute each batch row on its own."""
    if not enabled:
        yield
        return
    with _PerRow():
        yield
