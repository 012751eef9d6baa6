#!/usr/bin/env python3
"""Trains the demo CLIP: a small ViT CLIP in the OpenAI checkpoint layout, on synthetic
scenes drawn by draw_shapes.py, and saves it as a TorchScript archive tagclip loads like
any OpenAI checkpoint (models/demo-clip.pt).

  nice -n 19 /usr/bin/python3 scripts/demo/train_demo_clip.py \
      --bpe /path/to/bpe_simple_vocab_16e6.txt.gz --out models/demo-clip.pt

Model (demo_clip_model.py): image tower ViT, patch 16, 224 input (14 x 14 grid), width 64 (1 head), 6 blocks;
text tower width 64 (1 head), 2 blocks, CLIP's 49,408-token BPE vocabulary and 77-token
context; embedding 64; QuickGELU, pre-LayerNorm, causal text mask, text feature at the end
token. Every tensor carries its OpenAI state-dict name. Saved in fp16 as OpenAI's are: 7.3
MB, most of it the token embedding table.

Data: each image shows one object (16 classes) on one of 8 textured, cluttered backgrounds
whose names are the reference's 25 background words, or (15%) the background alone.
Captions come from varied templates ("a photo of a star.", "a small red star.", "there is a
grass in the scene.") and are tokenized with CLIP's BPE (clip_bpe.py).

Compute: tokens, not images, cost time on two cores, so most steps show a 112 x 112 or
160 x 160 window of a 224-pixel scene. Objects keep the pixel size they have in a
224-pixel image and the window takes the matching rows of the 14 x 14 positional table, so
the model learns every position at the scale it is tested at. The last steps are all
224 x 224, the input tagclip gives it. 4,000 steps take about 40 minutes on one core.

Loss: CLIP's symmetric contrastive loss over the batch, where captions of the same class
count as matches (several images of one class share a batch), as soft targets (with
--name-extras-chance, a caption naming several objects matches only captions naming the
same set); plus a
patch term (--patch-loss-weight, default 1): each patch feature computed as TagCLIP's coarse
step computes it is classified against one caption per label (the object where it covers
the patch, the background kind where nothing does). Real CLIP's patch tokens carry
meaning after 400 million captions; in a model trained for an hour only this term asks
them to name what they show, and TagCLIP's local stages read exactly those features.

Reproducible: the seed fixes the initial weights and every drawn pixel (each step draws
from its own generator); with --threads 1 a rerun gives the same weights bit for bit. With 2
threads it does not: two 6-step runs differed in the loss's fifth significant digit and in
most tensors (threaded reductions, most likely, summing in an order that varies).
"""
import argparse
import json
import math
import multiprocessing
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import draw_shapes  # noqa: E402
from clip_bpe import ClipBpe  # noqa: E402
from demo_clip_model import CONTEXT, DemoClip, export  # noqa: E402

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)

# Caption templates. Many share words with CLIP's prompt ensemble (which tagclip uses by
# default), so those words mean something to the text tower; the class word is the only
# content.
TEMPLATES = [
    "a photo of a {}.", "a photo of the {}.", "a picture of a {}.", "an image of the {}.",
    "a drawing of a {}.", "a rendering of the {}.", "a sketch of a {}.", "a painting of the {}.",
    "a cartoon {}.", "a bad photo of a {}.", "a good photo of the {}.", "a blurry photo of a {}.",
    "a bright photo of the {}.", "a dark photo of a {}.", "a close-up photo of the {}.",
    "a cropped photo of a {}.", "a low resolution photo of the {}.",
    "a pixelated photo of a {}.", "a jpeg corrupted photo of the {}.",
    "a photo of a small {}.", "a photo of the big {}.", "a photo of a large {}.",
    "there is a {} in the scene.", "there is the {} in the scene.",
    "this is a {} in the scene.", "this is one {} in the scene.", "a {}.", "the {}.",
    "itap of a {}.", "a photo of one {}.", "art of the {}.", "a clean photo of a {}.",
    "a photo of the nice {}.", "a photo of a weird {}.", "a black and white photo of a {}.",
    "a sculpture of the {}.", "a toy {}.", "a plastic {}.", "graffiti of a {}.",
    "a doodle of the {}.", "a plushie {}.", "a origami {}.", "a tattoo of the {}.",
    "a photo of the hard to see {}.", "a rendition of a {}.", "the embroidered {}.",
    "a photo of many {}.", "a photo of my {}.", "a {} in a video game.", "a bad photo of the {}.",
]
ATTRIBUTE_TEMPLATES = [
    "a {colour} {label}.", "a photo of a {colour} {label}.", "a {scale} {colour} {label}.",
    "a {scale} {label}.", "there is a {colour} {label} in the scene.",
]


# --------------------------------------------------------------------------- data
def caption_for(info, rng, attributes=True):
    """A caption for a training_scene() record."""
    if info["kind"] == "background":
        words = draw_shapes.BACKGROUND_WORDS[info["label"]]
        word = words[int(rng.integers(len(words)))]
        return TEMPLATES[int(rng.integers(len(TEMPLATES)))].format(word)
    if attributes and rng.random() < 0.3:
        template = ATTRIBUTE_TEMPLATES[int(rng.integers(len(ATTRIBUTE_TEMPLATES)))]
        if "{scale}" in template and info["scale"] is None:
            template = template.replace("{scale} ", "")
        return template.format(colour=info["colour"], scale=info["scale"], label=info["label"])
    return TEMPLATES[int(rng.integers(len(TEMPLATES)))].format(info["label"])


LABELS = draw_shapes.CLASSES + draw_shapes.BACKGROUND_KINDS


def to_tensor(images):
    """uint8 [B, S, S, 3] -> normalised float [B, 3, S, S], as tagclip preprocesses."""
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - mean) / std


def naming_caption(names, rng):
    """A caption naming every object of a scene, in random order: "a photo of a star, a
    cross and a four." (the templates' "a {}" takes the joined names)."""
    names = [names[k] for k in rng.permutation(len(names))]
    joined = names[0] if len(names) == 1 else ", a ".join(names[:-1]) + " and a " + names[-1]
    return TEMPLATES[int(rng.integers(len(TEMPLATES)))].format(joined)


def draw_batch(seed, step, canvas, batch, extra_chance=0.0, object_cover=0.3, grid=14, patch=16,
               name_extras_chance=0.0, zoom_chance=0.0, attention_object_cover=0.5):
    """The step's scenes, drawn from a generator seeded by (seed, step): uint8 images
    [B, c, c, 3], window offsets [B, 2] (patch row, column in the 14 x 14 grid), caption
    keys [B] (a bit per label the caption names, index in LABELS, so that equal keys mean
    captions that name the same things) and captions. A share `zoom_chance` of the object
    scenes are close-ups of their main object (draw_shapes.zoom_on_main_object). Runs in
    the helper process."""
    rng = np.random.default_rng([seed, step])
    # Whether a scene's caption names its extra objects comes from a generator of its own,
    # so that the images are the same with and without --name-extras-chance.
    naming_rng = np.random.default_rng([seed, step, 2])
    zoom_rng = np.random.default_rng([seed, step, 3])  # and likewise for close-ups
    images, labels, captions, patch_labels, patch_objects = [], [], [], [], []
    for _ in range(batch):
        image, info = draw_shapes.training_scene(rng, canvas, extra_chance=extra_chance)
        if zoom_chance > 0 and info["objects"] and zoom_rng.random() < zoom_chance:
            image, info = draw_shapes.zoom_on_main_object(image, info, zoom_rng)
        images.append(image)
        labels.append(1 << LABELS.index(info["label"]))
        captions.append(caption_for(info, rng))
        if (name_extras_chance > 0 and len(info["objects"]) > 1
                and naming_rng.random() < name_extras_chance):
            names = [name for name, _ in info["objects"]]
            labels[-1] = sum(1 << LABELS.index(name) for name in names)
            captions[-1] = naming_caption(names, naming_rng)
        patch_labels.append(patch_labels_for(info, canvas, patch, object_cover))
        patch_objects.append(patch_objects_for(info, canvas, patch, attention_object_cover))
    window = canvas // patch
    offsets = rng.integers(0, grid - window + 1, (batch, 2))
    # The patch loss's captions come from their own generator, so that the images and
    # captions above are the same with and without it.
    label_rng = np.random.default_rng([seed, step, 1])
    label_captions = [caption_for({"kind": "object" if k < len(draw_shapes.CLASSES)
                                   else "background", "label": name, "scale": None,
                                   "colour": None}, label_rng, attributes=False)
                      for k, name in enumerate(LABELS)]
    return (np.stack(images), offsets, np.asarray(labels), captions, np.stack(patch_labels),
            label_captions, np.stack(patch_objects))


def patch_labels_for(info, canvas, patch, object_cover=0.3):
    """Per patch [g*g]: the label of the object that covers most of the patch where that is
    at least `object_cover`, the background kind's where objects cover under 2% (none for
    "plain": -100), else -100 (ignored). With `object_cover` 0.02 no patch is ignored: the
    edge patches, which hold only an outline's arc, are the ones the coarse step would
    otherwise name after thin-stroke classes (spiral, ring)."""
    g = canvas // patch
    centres = info["background_map"][patch // 2::patch, patch // 2::patch].astype(np.int64)
    labels = np.where(centres >= 0, len(draw_shapes.CLASSES) + centres, -100)
    if info["objects"]:
        cover = np.stack([m.reshape(g, patch, g, patch).mean((1, 3)) for _, m in info["objects"]])
        ids = np.asarray([LABELS.index(name) for name, _ in info["objects"]])
        best = cover.argmax(0)
        labels = np.where(cover.max(0) >= object_cover, ids[best],
                          np.where(cover.sum(0) < 0.02, labels, -100))
    return labels.reshape(-1)


def patch_objects_for(info, canvas, patch, least_cover=0.5):
    """Per patch [g*g]: which of the scene's objects covers the most of it, where that is at
    least `least_cover` (its index in info["objects"]), or -1 (background). The attention
    terms give each patch its object's or the background's region; at 0.5 an object under
    about 40 px has hardly a patch of its own, so its patches are asked to attend to the
    background around it."""
    g = canvas // patch
    if not info["objects"]:
        return np.full(g * g, -1, np.int64)
    cover = np.stack([m.reshape(g, patch, g, patch).mean((1, 3)) for _, m in info["objects"]])
    return np.where(cover.max(0) >= least_cover, cover.argmax(0), -1).reshape(-1).astype(np.int64)


def tokenize_short(bpe, captions):
    """[B, T] token ids cut to the longest caption (the causal mask makes the cut exact)."""
    tokens = torch.tensor(bpe.tokenize(captions, CONTEXT))
    return tokens[:, :int((tokens > 0).sum(1).max())]


def to_batch(drawn, bpe):
    """draw_batch's output as tensors: images [B, 3, c, c], offsets [B, 2], caption keys [B],
    tokens [B, T], patch labels [B, g*g] and one caption's tokens per label [L, T]."""
    images, offsets, labels, captions, patch_labels, label_captions, patch_objects = drawn
    return (to_tensor(images), torch.from_numpy(offsets), torch.from_numpy(labels),
            tokenize_short(bpe, captions), torch.from_numpy(patch_labels),
            tokenize_short(bpe, label_captions), torch.from_numpy(patch_objects))


class AttentionRecorder:
    """Forward hooks on the attention of `blocks` (indices from the start) that keep the
    probabilities [B, H, T, T] of each call, so the attention term reads the same pass as
    the patch term (model.visual.dense) and needs no forward of its own. The hook recomputes
    softmax(q k^T / sqrt(d)) from the attention's input, as Attention.forward does; remove()
    before export, or TorchScript would compile the hooks into the archive."""

    def __init__(self, model, blocks, kept=("probabilities",)):
        self.probabilities = []
        # log_softmax of the same scores [B, H, T, T], for the spread term: the log of a
        # probability that underflows is -inf, while log_softmax stays exact.
        self.log_probabilities = []
        # The names of the lists above that a term reads; only those are filled.
        self.kept = set(kept)
        resblocks = model.visual.transformer.resblocks
        self.handles = [resblocks[i].attn.register_forward_hook(self.record) for i in blocks]

    def clear(self):
        self.probabilities.clear()
        self.log_probabilities.clear()

    def record(self, attn, inputs, output):
        h = inputs[0]  # ln_1(x) [B, T, W]
        b, t, w = h.shape
        qkv = F.linear(h, attn.in_proj_weight, attn.in_proj_bias)
        q, k, _ = qkv.view(b, t, 3, attn.heads, w // attn.heads).permute(2, 0, 3, 1, 4)
        scale = float(w // attn.heads) ** -0.5
        scores = torch.matmul(q, k.transpose(-2, -1)) * scale
        if "probabilities" in self.kept:
            self.probabilities.append(scores.softmax(-1))
        if "log_probabilities" in self.kept:
            self.log_probabilities.append(scores.log_softmax(-1))

    def remove(self):
        for handle in self.handles:
            handle.remove()


def mean_negative_log_share(probabilities, rows, share):
    """The two attention terms' common form: for each block's probabilities [B, H, T, T],
    average the heads and drop the class token (patch to patch, [B, N, N]), let `share` map
    that to each patch's share of attention that went where it should [B, N], and average
    -log(share) over the patches `rows` [B, N] picks; then average over the blocks."""
    if not rows.any():
        return probabilities[0].new_zeros(())
    losses = []
    for block_probabilities in probabilities:
        patch_to_patch = block_probabilities.mean(1)[:, 1:, 1:]  # [B, N, N], heads averaged
        losses.append(-(share(patch_to_patch)[rows] + 1e-6).log().mean())
    return torch.stack(losses).mean()


def attention_locality_loss(probabilities, patch_objects):
    """How much attention each object patch gives to other objects' patches, in the blocks
    DMAR reads (`probabilities`: one [B, H, T, T] per block): -log(same / (same + other))
    averaged over patches of scenes with two or more objects. Background patches are left
    free. Real CLIP's middle blocks link the patches of one object; a small CLIP trained on
    captions alone links all of them."""
    same = patch_objects.unsqueeze(2) == patch_objects.unsqueeze(1)  # [B, N, N]
    on_object = patch_objects >= 0
    other = on_object.unsqueeze(2) & on_object.unsqueeze(1) & ~same
    same = same & on_object.unsqueeze(2)
    rows = on_object & other.any(2)  # object patches that have another object to avoid

    def same_object_share(patch_to_patch):
        same_mass = (patch_to_patch * same).sum(2)
        other_mass = (patch_to_patch * other).sum(2)
        return same_mass / (same_mass + other_mass + 1e-8)

    return mean_negative_log_share(probabilities, rows, same_object_share)


def background_attention_loss(probabilities, patch_objects):
    """How much attention each background patch gives to object patches, in the same blocks:
    -log(background / all patches) averaged over the background patches of scenes that show
    an object. DMAR's first refinement averages a patch's coarse scores over the patches it
    attends to; a background patch that attends to background averages away one patch's
    mistaken class (a clutter stroke read as a spiral) instead of passing it on whole.
    `patch_objects` [B, N]: -1 on background (no object covers half the patch)."""
    background = patch_objects < 0  # [B, N]
    rows = background & (~background).any(1, keepdim=True)  # background of scenes with objects

    def background_share(patch_to_patch):
        background_mass = (patch_to_patch * background.unsqueeze(1)).sum(2)  # [B, N]
        return background_mass / (patch_to_patch.sum(2) + 1e-8)

    return mean_negative_log_share(probabilities, rows, background_share)


def attention_spread_loss(log_probabilities, patch_objects, background_radius=0,
                          background_fade=0.0):
    """How far each patch's attention is from spreading evenly over its own region, in the
    blocks DMAR reads (`log_probabilities`: one log_softmax [B, H, T, T] per block): the
    KL divergence from the uniform distribution over the region's patches to the patch's
    head-averaged attention, averaged over object patches and over background patches
    (each half counts alike; background patches outnumber object ones), then over blocks.
    A region is one object's patches, or all background patches (`patch_objects` [B, N]:
    object index, -1 on background). Zero only when every patch attends to its region's
    patches alone, all alike. DMAR's first refinement averages the coarse scores over the
    patches each patch attends to: attention spread over the region averages a clutter
    patch's stray class away on background and pools an object's evidence over all of it;
    a patch attending to itself alone (which the locality terms allow) does neither.
    `background_radius` R > 0 narrows a background patch's region to the background
    patches at most R rows and R columns away: CLIP-ES's affinity (two hops of these
    blocks' attention) spreads a class map's stray background values over the whole
    background when its attention covers all of it, where real CLIP's fades with distance.
    `background_fade` F > 0 makes a background patch's target fade with distance instead of
    spreading evenly: its weight on a background patch d patches away (Euclidean, in patch
    units) is exp(-d / F), normalised over the region (the KL divergence then is from that
    target, not from the uniform one)."""
    same = patch_objects.unsqueeze(2) == patch_objects.unsqueeze(1)  # [B, N, N]
    if background_radius > 0:
        row, column = patch_grid(patch_objects.shape[1])
        near = torch.maximum((row.view(-1, 1) - row.view(1, -1)).abs(),
                             (column.view(-1, 1) - column.view(1, -1)).abs()) <= background_radius
        on_background = (patch_objects < 0).unsqueeze(2)  # [B, N, 1]: rows to narrow
        same = same & (near.unsqueeze(0) | ~on_background)
    count = same.sum(2).float()  # [B, N], region size (>= 1: the patch itself)
    on_object = patch_objects >= 0
    groups = [rows for rows in (on_object, ~on_object) if rows.any()]
    if background_fade > 0:
        return faded_spread_loss(log_probabilities, same, on_object, groups, background_fade)

    def divergence(log_attention):  # KL(uniform over region || attention row): [B, N]
        return -count.log() - (log_attention * same).sum(2) / count

    return mean_block_divergence(log_probabilities, groups, divergence)


def patch_grid(patches):
    """Row and column [N] of each of `patches` patches in its square window (g x g)."""
    side = math.isqrt(patches)
    index = torch.arange(side * side)
    return index // side, index % side


def mean_block_divergence(log_probabilities, groups, divergence):
    """`divergence` ([B, N, N] log of the head-averaged attention, patch to patch -> [B, N])
    averaged within each row group of `groups`, then over groups, then over blocks
    (`log_probabilities`: one log_softmax [B, H, T, T] per block)."""
    losses = []
    for block in log_probabilities:
        heads = block.shape[1]
        log_attention = (torch.logsumexp(block, 1) - math.log(heads))[:, 1:, 1:]
        values = divergence(log_attention)
        losses.append(torch.stack([values[rows].mean() for rows in groups]).mean())
    return torch.stack(losses).mean()


def faded_spread_loss(log_probabilities, same, on_object, groups, fade):
    """attention_spread_loss with background targets that fade with distance: exp(-d / fade)
    over the region's patches (`same` [B, N, N]), normalised; object patches keep the
    uniform target. Kept apart so the uniform path computes exactly what it did."""
    row, column = patch_grid(same.shape[1])
    distance = torch.hypot((row.view(-1, 1) - row.view(1, -1)).float(),
                           (column.view(-1, 1) - column.view(1, -1)).float())  # [N, N]
    weights = same.float() * torch.where(on_object.unsqueeze(2), torch.ones(()),
                                         torch.exp(-distance / fade).unsqueeze(0))
    target = weights / weights.sum(2, keepdim=True)  # [B, N, N], rows sum to 1
    target_entropy = (target * target.clamp_min(1e-30).log()).sum(2)  # [B, N]: sum t log t

    def divergence(log_attention):  # KL(target || attention row): [B, N]
        return target_entropy - (target * log_attention).sum(2)

    return mean_block_divergence(log_probabilities, groups, divergence)


def contrastive_loss(model, images, offsets, labels, tokens, patch_labels=None,
                     label_tokens=None, patch_weight=0.0, object_patch_weight=1.0):
    """CLIP's symmetric loss with every pair of equal caption keys (`labels`, draw_batch's) as
    a match (soft targets). With `patch_weight` > 0, plus that weight times a patch term: each
    labelled patch feature (TagCLIP's coarse-step features, dense()) classified against one
    caption per label.
    `object_patch_weight` weighs patches labelled with an object against background ones
    (most patches show background, so unweighted the term can favour it)."""
    if patch_weight > 0:
        image_features, patch_features = model.visual.dense(images, offsets)
    else:
        image_features = model.encode_image(images, offsets)
    image_features = F.normalize(image_features, dim=-1)
    text_features = F.normalize(model.encode_text(tokens), dim=-1)
    scale = model.logit_scale.exp()
    logits = scale * image_features @ text_features.t()
    matches = (labels.view(-1, 1) == labels.view(1, -1)).float()
    targets = matches / matches.sum(1, keepdim=True)
    loss = 0.5 * (torch.sum(-targets * logits.log_softmax(1), 1).mean() +
                  torch.sum(-targets * logits.t().log_softmax(1), 1).mean())
    accuracy = (matches[torch.arange(len(labels)), logits.argmax(1)] > 0).float().mean()
    if patch_weight > 0:
        label_features = F.normalize(model.encode_text(label_tokens), dim=-1)  # [L, E]
        patch_logits = scale * F.normalize(patch_features, dim=-1) @ label_features.t()
        # Per-label weights [L]: objects first, then background kinds (LABELS). Passed only
        # when they differ from 1, so that earlier recipes reproduce bit for bit.
        class_weight = None
        if object_patch_weight != 1.0:
            class_weight = torch.ones(label_features.shape[0])
            class_weight[:len(draw_shapes.CLASSES)] = object_patch_weight
        loss = loss + patch_weight * F.cross_entropy(
            patch_logits.reshape(-1, label_features.shape[0]), patch_labels.reshape(-1),
            weight=class_weight, ignore_index=-100)
    return loss, accuracy


# --------------------------------------------------------------------------- schedule
def schedule(step, steps, sizes):
    """(canvas, batch) for a step: mostly small windows early, only full 224 images in the
    last `final_fraction` of the run."""
    rng = np.random.default_rng([12345, step])
    if step >= int(steps * (1 - sizes["final_fraction"])):
        return 224, sizes["batch_224"]
    roll = rng.random()
    if roll < sizes["p112"]:
        return 112, sizes["batch_112"]
    if roll < sizes["p112"] + sizes["p160"]:
        return 160, sizes["batch_160"]
    return 224, sizes["batch_224"]


def learning_rate(step, steps, peak, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * 0.5 * (1 + math.cos(math.pi * progress))


def evaluate(model, bpe, seed, count=192):
    """On held-out single-object 224 scenes, with "a photo of a {}." for every class and
    background kind: the class token's zero-shot accuracy, and how often TagCLIP's coarse
    patch features (dense()) name the right label on patches the object covers (>= 50%)
    and on background patches."""
    rng = np.random.default_rng([seed, 999_999])
    images, labels, patch_labels = [], [], []
    while len(images) < count:
        image, info = draw_shapes.training_scene(rng, 224, object_chance=1.0)
        images.append(image)
        labels.append(LABELS.index(info["label"]))
        patch_labels.append(patch_labels_for(info, 224, 16))
        cover = info["objects"][0][1].reshape(14, 16, 14, 16).mean((1, 3)).reshape(-1)
        patch_labels[-1] = np.where((cover < 0.5) & (patch_labels[-1] < len(draw_shapes.CLASSES)),
                                    -100, patch_labels[-1])
    with torch.no_grad():
        words = draw_shapes.CLASSES + [w[0] for w in draw_shapes.BACKGROUND_WORDS.values()]
        tokens = torch.tensor(bpe.tokenize([f"a photo of a {w}." for w in words], CONTEXT))
        text = F.normalize(model.encode_text(tokens[:, :16]), dim=-1)
        predicted, patch_predicted = [], []
        for i in range(0, count, 32):
            cls, patches = model.visual.dense(to_tensor(images[i:i + 32]))
            predicted.append((F.normalize(cls, dim=-1) @ text.t()).argmax(1))
            patch_predicted.append((F.normalize(patches, dim=-1) @ text.t()).argmax(-1))
        predicted = torch.cat(predicted)
        patch_predicted = torch.cat(patch_predicted)
        false_classes = false_patch_classes(model, text, np.random.default_rng([seed, 999_998]))
    patch_truth = torch.from_numpy(np.stack(patch_labels))
    on_object = (patch_truth >= 0) & (patch_truth < len(draw_shapes.CLASSES))
    on_background = patch_truth >= len(draw_shapes.CLASSES)
    return {"heldout_accuracy": round(float((predicted == torch.tensor(labels)).float().mean()), 3),
            "object_patch_accuracy": round(float((patch_predicted == patch_truth)[on_object].float().mean()), 3),
            "background_patch_accuracy": round(float((patch_predicted == patch_truth)[on_background].float().mean()), 3),
            "false_patch_classes": false_classes}


def false_patch_classes(model, text, rng, count=64):
    """On benchmark-like scenes (draw_shapes.benchmark_scene, from an evaluation-only
    generator): how many classes per image that the image does not show name at least one
    patch. The coarse step tags an image with any class that wins one patch, so this is
    its false tags per image, roughly. `text`: [L, E] normalised, classes first."""
    images, shown = [], []
    for _ in range(count):
        image, objects = draw_shapes.benchmark_scene(rng)
        images.append(image)
        shown.append({draw_shapes.CLASSES.index(o["name"]) for o in objects})
    false = 0
    for i in range(0, count, 32):
        _, patches = model.visual.dense(to_tensor(images[i:i + 32]))
        winners = (F.normalize(patches, dim=-1) @ text.t()).argmax(-1)  # [b, N]
        for row, truth in zip(winners.tolist(), shown[i:i + 32]):
            false += len({k for k in row if k < len(draw_shapes.CLASSES)} - truth)
    return round(false / count, 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bpe", required=True, help="CLIP's bpe_simple_vocab_16e6.txt.gz")
    parser.add_argument("--out", default="models/demo-clip.pt")
    parser.add_argument("--work-dir", default="/tmp/demo-clip-train",
                        help="checkpoints for --resume and the training log")
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="LibTorch threads (1 is fastest on a busy 2-core machine, and the "
                             "only count that reproduces bit for bit)")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--vision-width", type=int, default=64)
    parser.add_argument("--vision-layers", type=int, default=6)
    parser.add_argument("--embed", type=int, default=64)
    parser.add_argument("--text-layers", type=int, default=2)
    parser.add_argument("--batch-112", type=int, default=96)
    parser.add_argument("--batch-160", type=int, default=48)
    parser.add_argument("--batch-224", type=int, default=24)
    parser.add_argument("--patch-loss-weight", type=float, default=1.0,
                        help="weight of the patch term (0: CLIP's loss alone)")
    parser.add_argument("--object-patch-weight", type=float, default=1.0,
                        help="weight of object patches against background patches in the "
                             "patch term (1: all alike)")
    parser.add_argument("--extra-object-chance", type=float, default=0.0,
                        help="share of object scenes that get 1-2 smaller, unmentioned objects "
                             "of other classes (0: one object per image)")
    parser.add_argument("--name-extras-chance", type=float, default=0.0,
                        help="share of scenes with extra objects whose caption names every "
                             "object (\"a photo of a star, a cross and a four.\"), matched "
                             "only by captions naming the same set (0: the main object alone)")
    parser.add_argument("--zoom-chance", type=float, default=0.0,
                        help="share of object scenes cut to a box around their main object "
                             "and stretched back to the canvas, as TagCLIP's reidentification "
                             "step shows its crops to the class token (0: none)")
    parser.add_argument("--patch-label-cover", type=float, default=0.3,
                        help="least share of a patch an object must cover for the patch term "
                             "to label it with that object; patches between 0.02 and this "
                             "are left out (0.02: none is)")
    parser.add_argument("--attention-weight", type=float, default=0.0,
                        help="weight of the attention-locality term (0: none); needs scenes "
                             "with several objects (--extra-object-chance)")
    parser.add_argument("--background-attention-weight", type=float, default=0.0,
                        help="weight of a term keeping background patches from attending to "
                             "object patches in the same blocks (0: none)")
    parser.add_argument("--attention-spread-weight", type=float, default=0.0,
                        help="weight of a term making each patch spread its attention evenly "
                             "over its own object's patches, or over the background's, in "
                             "the same blocks (0: none)")
    parser.add_argument("--spread-background-radius", type=int, default=0,
                        help="with --attention-spread-weight: a background patch spreads its "
                             "attention over the background patches at most this many rows "
                             "and columns away (0: over all the background)")
    parser.add_argument("--spread-background-fade", type=float, default=0.0,
                        help="with --attention-spread-weight: a background patch's target "
                             "weight on a background patch d patches away is exp(-d / F), "
                             "not even (0: even)")
    parser.add_argument("--attention-object-cover", type=float, default=0.5,
                        help="least share of a patch an object must cover for the attention "
                             "terms to count the patch as the object's (below: background)")
    parser.add_argument("--attention-blocks", type=int, nargs="+", default=[-4, -3, -2],
                        help="blocks the attention term shapes, negative from the end "
                             "(default: the ones tagclip's DMAR reads)")
    parser.add_argument("--final-fraction", type=float, default=0.1,
                        help="share of steps at the end that are all 224 x 224")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    draw_shapes.cv2.setNumThreads(1)
    torch.manual_seed(args.seed)
    os.makedirs(args.work_dir, exist_ok=True)
    bpe = ClipBpe(args.bpe)
    config = dict(vision_width=args.vision_width, vision_layers=args.vision_layers, patch=16,
                  grid=14, embed=args.embed, text_width=64, text_layers=args.text_layers)
    model = DemoClip(**config)
    model.config = config
    attention_blocks = sorted(b % args.vision_layers for b in args.attention_blocks)
    if args.vision_layers - 1 in attention_blocks:
        parser.error("--attention-blocks: the last block attends to itself alone in tagclip's "
                     "coarse step; pick blocks before it")
    # The attention terms: (weight, log key, the recorder's list it reads, loss from that list
    # and the step's patch objects), added to the loss in this order.
    attention_terms = [
        (args.attention_weight, "attention_loss", "probabilities", attention_locality_loss),
        (args.background_attention_weight, "background_attention_loss", "probabilities",
         background_attention_loss),
        (args.attention_spread_weight, "attention_spread_loss", "log_probabilities",
         lambda log_attention, objects: attention_spread_loss(
             log_attention, objects, args.spread_background_radius,
             args.spread_background_fade)),
    ]
    attention_terms = [term for term in attention_terms if term[0] > 0]
    recorder = (AttentionRecorder(model, attention_blocks,
                                  kept=[source for _, _, source, _ in attention_terms])
                if attention_terms else None)
    sizes = dict(p112=0.6, p160=0.25, batch_112=args.batch_112, batch_160=args.batch_160,
                 batch_224=args.batch_224, final_fraction=args.final_fraction)

    decay = [p for n, p in model.named_parameters()
             if p.dim() >= 2 and "embedding" not in n]
    no_decay = [p for n, p in model.named_parameters()
                if not (p.dim() >= 2 and "embedding" not in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=args.lr, betas=(0.9, 0.98), eps=1e-6)
    start = 0
    state_path = os.path.join(args.work_dir, "state.pt")
    if args.resume and os.path.exists(state_path):
        state = torch.load(state_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start = state["step"]
        torch.set_rng_state(state["torch_rng"])
        print(f"resumed at step {start}", flush=True)
    log = open(os.path.join(args.work_dir, "log.jsonl"), "a")
    warmup = max(1, args.steps // 20)
    began = time.time()
    smoothed = None
    # A helper process draws the next batches while this one trains (drawing is ~20% of a
    # step); at most `ahead` batches wait in memory.
    pool = multiprocessing.get_context("fork").Pool(1)
    pending = {}
    ahead = 3

    def request(step):
        if step < args.steps and step not in pending:
            canvas, batch = schedule(step, args.steps, sizes)
            pending[step] = pool.apply_async(
                draw_batch, (args.seed, step, canvas, batch, args.extra_object_chance,
                             args.patch_label_cover),
                {"name_extras_chance": args.name_extras_chance,
                 "zoom_chance": args.zoom_chance,
                 "attention_object_cover": args.attention_object_cover})

    for step in range(start, args.steps):
        for later in range(step, step + ahead):
            request(later)
        images, offsets, labels, tokens, patch_labels, label_tokens, patch_objects = to_batch(
            pending.pop(step).get(), bpe)
        canvas = images.shape[-1]
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, args.steps, args.lr, warmup)
        if recorder:
            recorder.clear()
        loss, accuracy = contrastive_loss(model, images, offsets, labels, tokens, patch_labels,
                                          label_tokens, args.patch_loss_weight,
                                          args.object_patch_weight)
        term_values = {}
        for weight, key, source, term in attention_terms:
            term_values[key] = term(getattr(recorder, source), patch_objects)
            loss = loss + weight * term_values[key]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        smoothed = float(loss) if smoothed is None else 0.95 * smoothed + 0.05 * float(loss)
        record = {"step": step + 1, "canvas": canvas, "loss": round(float(loss), 4),
                  "smoothed": round(smoothed, 4), "batch_accuracy": round(float(accuracy), 3),
                  "logit_scale": round(float(model.logit_scale.exp()), 2),
                  "elapsed_s": round(time.time() - began, 1)}
        record.update({key: round(float(value), 4) for key, value in term_values.items()})
        if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
            record.update(evaluate(model, bpe, args.seed))
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "step": step + 1, "torch_rng": torch.get_rng_state()}, state_path)
        log.write(json.dumps(record) + "\n")
        log.flush()
        if (step + 1) % 10 == 0 or "heldout_accuracy" in record:
            print(json.dumps(record), flush=True)
    pool.close()
    if recorder:
        recorder.remove()
    export(model, args.out)
    print(f"saved {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB) after "
          f"{time.time() - began:.0f} s", flush=True)


if __name__ == "__main__":
    main()
