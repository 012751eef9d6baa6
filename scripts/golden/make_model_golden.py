#!/usr/bin/env python3
"""Regenerates tests/data/golden/model_fidelity.{json,bin}: what the authors' TagCLIP code
computes with a random-weight checkpoint, for tests/test_clip_model.cpp.

It imports the authors' code from --reference (a checkout of github linyq2117/TagCLIP;
`ftfy` may be a stub that returns its input, all prompts here are ASCII) and only calls it.

  build/tagclip random-checkpoint /tmp/fidelity.pt --seed 0
  /usr/bin/python3 scripts/golden/make_model_golden.py --reference /path/to/TagCLIP \
      --checkpoint /tmp/fidelity.pt --bpe ../shared/clip/bpe_simple_vocab_16e6.txt.gz
"""
import argparse
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_arrays import GoldenWriter  # noqa: E402

# Attention maps are large; the golden keeps every SAMPLE_STRIDE-th entry of each
# flattened [T, T] map (the C++ test samples the same positions).
SAMPLE_STRIDE = 31
MULTI_WORD_CLASSES = ["dog", "traffic light", "hair drier", "potted plant", "teddy bear",
                      "sports ball", "person"]
RAW_PROMPTS = ["a photo of a dog.", "there is a traffic light in the scene.", "a photo."]


def synthetic_image(height, width):
    """Deterministic normalised-image stand-in [1, 3, H, W]; tests/support computes the same."""
    c = np.arange(3, dtype=np.float64)[:, None, None]
    y = np.arange(height, dtype=np.float64)[None, :, None]
    x = np.arange(width, dtype=np.float64)[None, None, :]
    values = 2.0 * np.sin(0.05 * (y + 1.0) * (c + 1.0) + 0.07 * x) + 0.1 * c
    return torch.from_numpy(values.astype(np.float32))[None]


def sampled(attn):
    flat = attn.reshape(-1).numpy()
    return flat[::SAMPLE_STRIDE]


def vision_case(writer, model, name, image, attn_mask):
    h, w = image.shape[-2:]
    with torch.no_grad():
        tokens, attn = model.encode_image_tagclip(image, h, w, attn_mask=attn_mask)
    tokens = tokens / tokens.norm(dim=-1, keepdim=True)
    writer.add(name + ".tokens", tokens[0].numpy())
    for i, a in enumerate(attn):
        writer.add(f"{name}.attention.{i}", sampled(a[0]))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference", required=True)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--bpe", required=True)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                      "tests", "data", "golden", "model_fidelity"))
    args = parser.parse_args()
    sys.path.insert(0, args.reference)
    # The reference reads its vocabulary next to its tokenizer module.
    shutil.copy(args.bpe, os.path.join(args.reference, "clip", "bpe_simple_vocab_16e6.txt.gz"))
    import clip  # the authors' package

    torch.set_num_threads(1)

    def fresh_model():
        model, _ = clip.load(args.checkpoint, device="cpu")
        return model.eval()

    writer = GoldenWriter("Outputs of the authors' TagCLIP code (clip.load, encode_image_tagclip, "
                          "encode_text, encode_text_with_prompt_ensemble) in fp32 on CPU, on the "
                          "random checkpoint `tagclip random-checkpoint --seed 0`. Made by "
                          "scripts/golden/make_model_golden.py.")
    writer.add_scalar("sample_stride", SAMPLE_STRIDE)
    writer.add_scalar("classes", MULTI_WORD_CLASSES)
    writer.add_scalar("raw_prompts", RAW_PROMPTS)

    # A fresh model for each case: the reference keeps the last mask inside its blocks.
    model = fresh_model()
    writer.add_scalar("logit_scale_exp", float(model.logit_scale.exp()))
    vision_case(writer, fresh_model(), "square_plain", synthetic_image(224, 224), None)
    vision_case(writer, fresh_model(), "square_self_only", synthetic_image(224, 224), 1)
    vision_case(writer, fresh_model(), "wide_self_only", synthetic_image(224, 320), 1)
    vision_case(writer, fresh_model(), "tall_self_only", synthetic_image(288, 176), 1)

    # CWR's mask: the class token may attend only to patches where keep[j] is true.
    keep = np.zeros(196, dtype=bool)
    keep[[15, 16, 17, 29, 30, 31, 100, 101]] = True
    cls_attn = 1 - torch.ones((197, 197))
    for j in range(1, 197):
        if not keep[j - 1]:
            cls_attn[0, j] = -1000
    writer.add("cwr_keep", keep.astype(np.int64), dtype=np.int64)
    vision_case(writer, fresh_model(), "square_cwr_mask", synthetic_image(224, 224), cls_attn)

    with torch.no_grad():
        tokens = clip.tokenize(RAW_PROMPTS)
        writer.add("raw_prompt_tokens", tokens.numpy().astype(np.int64), dtype=np.int64)
        writer.add("raw_prompt_features", model.encode_text(tokens).numpy())
        ensemble = clip.encode_text_with_prompt_ensemble(model, MULTI_WORD_CLASSES, "cpu")
        writer.add("class_embeddings", ensemble.numpy())

    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    writer.save(args.out)
    print("wrote", args.out + ".json/.bin")


if __name__ == "__main__":
    main()
