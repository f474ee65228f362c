"""A small transformer encoder classifier over token ids, readable in one sitting.

Pre-norm blocks (LayerNorm, multi-head self-attention, LayerNorm, feed-forward with GELU,
each with a residual), learned positional embeddings, a final LayerNorm and a linear head over
the CLS token (position 0) or the mean of the non-padding tokens. Written out rather than taken
from ``nn.TransformerEncoder`` so that parameter names are ours and stable (the spec derives
them without building the model), and no fast path swaps kernels between training and
evaluation — verifiers re-execute exactly this arithmetic.

Token ids arrive as float32 (datasets and the codec carry float32; ids below 2**24 are exact)
and are cast to integers here. ``PAD = 0`` keys are masked out of attention; the first
position is never masked, so no attention row is empty.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from fedmarket.architectures import TransformerArch
from fedmarket.tokenizer import PAD

__all__ = ["TransformerClassifier"]


class _Block(nn.Module):
    def __init__(self, arch: TransformerArch):
        super().__init__()
        d = arch.width
        self.heads = arch.heads
        self.dropout = arch.dropout
        self.norm1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d)
        self.ff1 = nn.Linear(d, arch.ff_width)
        self.ff2 = nn.Linear(arch.ff_width, d)

    def forward(self, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = self.qkv(self.norm1(x)).split(width, dim=2)
        shape = (batch, length, self.heads, width // self.heads)
        q, k, v = (t.reshape(shape).transpose(1, 2) for t in (q, k, v))  # [B, H, L, d]
        scores = q @ k.transpose(-2, -1) / math.sqrt(width // self.heads)
        scores = scores.masked_fill(pad[:, None, None, :], float("-inf"))
        attn = F.dropout(scores.softmax(dim=-1), self.dropout, self.training)
        mixed = (attn @ v).transpose(1, 2).reshape(batch, length, width)
        x = x + F.dropout(self.proj(mixed), self.dropout, self.training)
        hidden = self.ff2(F.gelu(self.ff1(self.norm2(x))))
        return x + F.dropout(hidden, self.dropout, self.training)


class TransformerClassifier(nn.Module):
    """Token ids ``[B, L]`` → class logits ``[B, C]``."""

    def __init__(self, input_shape: tuple[int, ...], arch: TransformerArch, num_classes: int):
        super().__init__()
        self.input_shape: tuple[int, ...] = tuple(input_shape)
        self.arch = arch
        self.tok_emb = nn.Embedding(arch.vocab_size, arch.width)
        # Small init as GPT-2 does; zeros would make every position look alike at round 0.
        self.pos_emb = nn.Parameter(torch.randn(arch.max_len, arch.width) * 0.02)
        self.blocks = nn.ModuleList(_Block(arch) for _ in range(arch.layers))
        self.norm = nn.LayerNorm(arch.width)
        self.head = nn.Linear(arch.width, num_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of token-id sequences (float or integer tensor)."""
        tokens = ids.long()
        length = tokens.shape[1]
        pad = tokens == PAD
        pad[:, 0] = False  # position 0 (CLS) always attends, so no softmax row is empty
        x = self.tok_emb(tokens) + self.pos_emb[:length]
        x = F.dropout(x, self.arch.dropout, self.training)
        for block in self.blocks:
            x = block(x, pad)
        x = self.norm(x)
        if self.arch.pooling == "cls":
            pooled = x[:, 0]
        else:
            keep = (~pad).unsqueeze(-1).to(x.dtype)
            pooled = (x * keep).sum(dim=1) / keep.sum(dim=1)
        return self.head(pooled)
