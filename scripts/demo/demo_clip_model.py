"""The demo CLIP's network: a small ViT CLIP whose every tensor carries its OpenAI
state-dict name, so the saved TorchScript archive loads in tagclip like OpenAI's own
checkpoints. Used by train_demo_clip.py.
"""
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from clip_bpe import VOCAB_SIZE

CONTEXT = 77


class QuickGELU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class Attention(nn.Module):
    """Multi-head self-attention with nn.MultiheadAttention's tensor names
    (in_proj_weight, in_proj_bias, out_proj), on batch-first input [B, T, W]."""

    def __init__(self, width: int):
        super().__init__()
        self.heads = width // 64
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * width))
        self.out_proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        b, t, w = x.shape
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)
        qkv = qkv.view(b, t, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # [B, H, T, 64]
        scores = torch.matmul(q, k.transpose(-2, -1)) * (float(w // self.heads) ** -0.5)
        if mask is not None:
            scores = scores + mask
        out = torch.matmul(scores.softmax(-1), v)  # [B, H, T, 64]
        return self.out_proj(out.transpose(1, 2).reshape(b, t, w))


class ResidualBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.attn = Attention(width)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential()
        self.mlp.add_module("c_fc", nn.Linear(width, 4 * width))
        self.mlp.add_module("gelu", QuickGELU())
        self.mlp.add_module("c_proj", nn.Linear(4 * width, width))
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), mask)
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int):
        super().__init__()
        self.resblocks = nn.ModuleList([ResidualBlock(width) for _ in range(layers)])

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        for block in self.resblocks:
            x = block(x, mask)
        return x


class VisionTransformer(nn.Module):
    def __init__(self, width: int, layers: int, patch: int, grid: int, embed: int):
        super().__init__()
        scale = width ** -0.5
        self.grid = grid
        self.conv1 = nn.Conv2d(3, width, patch, patch, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(grid * grid + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, embed))

    def embed(self, image: torch.Tensor, offset: Optional[torch.Tensor] = None) -> torch.Tensor:
        """image [B, 3, S, S] -> tokens after ln_pre [B, 1 + g*g, W]. A window smaller than
        the full grid takes the positional rows of its place in the 224-pixel scene:
        `offset` [B, 2] (row, column of its top-left patch); None: the window starts at
        (0, 0)."""
        x = self.conv1(image)  # [B, W, g, g]
        b, w, gh, gw = x.shape
        x = x.flatten(2).transpose(1, 2)  # [B, g*g, W]
        rows = torch.arange(gh).view(gh, 1) * self.grid + torch.arange(gw).view(1, gw)
        rows = rows.reshape(1, -1).expand(b, -1)
        if offset is not None:
            rows = rows + (offset[:, 0] * self.grid + offset[:, 1]).view(b, 1)
        positions = self.positional_embedding[1:][rows]  # [B, g*g, W]
        cls = (self.class_embedding + self.positional_embedding[0]).view(1, 1, w).expand(b, 1, w)
        return self.ln_pre(torch.cat([cls, x + positions], 1))

    def forward(self, image: torch.Tensor, offset: Optional[torch.Tensor] = None) -> torch.Tensor:
        """image [B, 3, S, S] -> image features [B, E] (the class token)."""
        x = self.transformer(self.embed(image, offset))
        return self.ln_post(x[:, 0]) @ self.proj

    def dense(self, image, offset=None):
        """Class-token features [B, E] and patch features [B, g*g, E] the way TagCLIP's
        coarse step computes them: the last block once as usual (class token) and once with
        every token attending to itself alone (additive -100 off the diagonal, as the
        reference). Training only; not part of the exported archive."""
        x = self.embed(image, offset)
        for block in self.transformer.resblocks[:-1]:
            x = block(x)
        last = self.transformer.resblocks[-1]
        cls = self.ln_post(last(x)[:, 0]) @ self.proj
        tokens = x.shape[1]
        self_only = torch.full((tokens, tokens), -100.0)
        self_only.fill_diagonal_(0.0)
        patches = self.ln_post(last(x, self_only)[:, 1:]) @ self.proj
        return cls, patches


class DemoClip(nn.Module):
    def __init__(self, vision_width=128, vision_layers=6, patch=16, grid=14, embed=64,
                 text_width=64, text_layers=2):
        super().__init__()
        self.visual = VisionTransformer(vision_width, vision_layers, patch, grid, embed)
        self.token_embedding = nn.Embedding(VOCAB_SIZE, text_width)
        self.positional_embedding = nn.Parameter(torch.empty(CONTEXT, text_width))
        self.transformer = Transformer(text_width, text_layers)
        self.ln_final = nn.LayerNorm(text_width)
        self.text_projection = nn.Parameter(torch.empty(text_width, embed))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.initialize(vision_layers, text_layers)

    def initialize(self, vision_layers: int, text_layers: int):
        """CLIP's initialisation (std 0.02 tokens, 0.01 positions, scaled block weights)."""
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        for tower, layers in ((self.visual.transformer, vision_layers),
                              (self.transformer, text_layers)):
            width = tower.resblocks[0].ln_1.weight.shape[0]
            attn_std = width ** -0.5
            proj_std = attn_std * (2 * layers) ** -0.5
            for block in tower.resblocks:
                nn.init.normal_(block.attn.in_proj_weight, std=attn_std)
                nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
                nn.init.zeros_(block.attn.out_proj.bias)
                nn.init.normal_(block.mlp.c_fc.weight, std=(2 * width) ** -0.5)
                nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
        nn.init.normal_(self.text_projection, std=self.ln_final.weight.shape[0] ** -0.5)

    def encode_image(self, image: torch.Tensor,
                     offset: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.visual(image, offset)

    def encode_text(self, text: torch.Tensor) -> torch.Tensor:
        """text [B, T] token ids (T <= 77, zero padded) -> [B, E], the feature at the end
        token (the largest id). The causal mask lets no token see later ones, so cutting the
        zero padding short changes nothing."""
        t = text.shape[1]
        x = self.token_embedding(text) + self.positional_embedding[:t]
        mask = torch.full((t, t), float("-inf")).triu(1)
        x = self.ln_final(self.transformer(x, mask))
        return x[torch.arange(x.shape[0]), text.argmax(-1)] @ self.text_projection

    def forward(self, image: torch.Tensor, text: torch.Tensor):
        image_features = F.normalize(self.encode_image(image), dim=1)
        text_features = F.normalize(self.encode_text(text), dim=1)
        logits_per_image = self.logit_scale.exp() * image_features @ text_features.t()
        return logits_per_image, logits_per_image.t()


def export(model, path):
    """fp16 TorchScript archive with OpenAI state-dict names (what tagclip reads)."""
    exported = DemoClip(**model.config)
    exported.load_state_dict(model.state_dict())
    exported = exported.half().eval()
    scripted = torch.jit.script(exported)
    scripted.save(path)
    names = set(dict(scripted.named_parameters()))
    for required in ("visual.conv1.weight", "visual.transformer.resblocks.0.attn.in_proj_weight",
                     "token_embedding.weight", "text_projection", "logit_scale"):
        assert required in names, required
