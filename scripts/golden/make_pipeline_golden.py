#!/usr/bin/env python3
"""Regenerates tests/data/golden/pipeline_reference.{json,bin}: TagCLIP end to end as the authors'
classify.py computes it, with a random-weight checkpoint, for tests/test_tagclip_pipeline.cpp.

The script runs the reference's own classify() (module globals set the way its __main__
would) on one image at a time, and only listens in: it wraps classify.mask_attn and
classify.cwr to record what they receive and return, and the model's encode_image_tagclip
to count CWR's forwards. Nothing of the method is recomputed here. The C++ test is fed the
SAME preprocessed image tensor and the SAME (normalised) text features that the reference
used, so it depends on neither the tokenizer nor the image resize.

  build/tagclip random-checkpoint /tmp/fidelity.pt --seed 0
  PYTHONPATH=/path/to/ftfy-stub /usr/bin/python3 scripts/golden/make_pipeline_golden.py \
      --reference /path/to/TagCLIP --checkpoint /tmp/fidelity.pt \
      --bpe ../shared/clip/bpe_simple_vocab_16e6.txt.gz

The reference writes its labels under ./output/ (--save_file); the script runs it in a
scratch folder and reads them back. With random weights CWR still finds candidates in most
cases, and happyfish_strip.coco stops early after encoding the first of four candidates
(the log printed at the end says which case does what; the script fails if no case does).
"""
import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import types

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_arrays import GoldenWriter  # noqa: E402

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")

# Multi-word classes, with VOC's background words (the reference's custom-vocabulary use).
CUSTOM_CLASSES = ["traffic light", "teddy bear", "potted plant", "hair drier", "orange",
                  "building", "person", "sports ball", "fire hydrant", "wine glass"]

# image name in tests/data/images -> what it covers. Every preprocessed tensor is stored
# once; sizes are after the reference's patch-aligned resize.
IMAGES = {
    "orange_224.jpg": "square 224x224: the checkpoint's own positional embedding",
    "building_portrait.jpg": "portrait 62x109 -> 64x112 (7x4 grid)",
    "squirrel_small.jpg": "tiny 61x49 -> 64x64 (4x4 grid)",
    "basketball_gray.jpg": "single-channel JPEG 75x58 -> 80x64 (4x5 grid), stacked to RGB",
    "happyfish_strip.jpg": "landscape strip 100x30 -> 112x32 (2x7 grid)",
}


# How the four photos this golden added to tests/data/images were made, from OpenCV's
# samples as Debian's opencv-doc ships them: (source, crop box or None, size, grayscale).
OPENCV_SAMPLES = "/usr/share/doc/opencv-doc/examples/data"
MADE_IMAGES = {
    "orange_224.jpg": ("orange.jpg", None, (224, 224)),
    "building_portrait.jpg": ("building.jpg", (250, 0, 590, 600), (62, 109)),
    "basketball_gray.jpg": ("basketball1.png", None, (75, 58)),
    "happyfish_strip.jpg": ("HappyFish.jpg", (0, 0, 259, 48), (100, 30)),
}


def make_images(image_dir):
    """Recreates MADE_IMAGES (Pillow LANCZOS, JPEG quality 90; the gray source stays gray)."""
    from PIL import Image
    for name, (source, box, size) in MADE_IMAGES.items():
        image = Image.open(os.path.join(OPENCV_SAMPLES, source))
        if image.mode != "L":
            image = image.convert("RGB")
        if box is not None:
            image = image.crop(box)
        image.resize(size, Image.LANCZOS).save(os.path.join(image_dir, name), quality=90)
        print("made", name)


def case_list():
    """(case name, image, vocabulary, dataset setting, keep intermediates)."""
    cases = []
    for image in IMAGES:
        stem = os.path.splitext(image)[0]
        for vocab in ("voc", "coco", "custom"):
            small = image in ("squirrel_small.jpg", "happyfish_strip.jpg")
            dataset = "coco2014" if vocab == "coco" else "voc2007"
            cases.append((f"{stem}.{vocab}", image, vocab, dataset, small))
    # COCO-Stuff settings (all blocks but the last, thresholds 0.1) on the VOC words.
    cases.append(("squirrel_small.voc_stuff_settings", "squirrel_small.jpg", "voc", "cocostuff",
                  True))
    cases.append(("orange_224.voc_stuff_settings", "orange_224.jpg", "voc", "cocostuff", False))
    return cases


def vocabulary(name, clip_text):
    if name == "voc":
        return clip_text.class_names_voc, clip_text.BACKGROUND_CATEGORY_VOC
    if name == "coco":
        return clip_text.class_names_coco, clip_text.BACKGROUND_CATEGORY_COCO
    if name == "custom":
        return CUSTOM_CLASSES, clip_text.BACKGROUND_CATEGORY_VOC
    raise ValueError(name)


class Recorder:
    """Listens to the reference's mask_attn, cwr and encode_image_tagclip."""

    def __init__(self, classify_module, model):
        self.module = classify_module
        self.model = model
        self.calls = {}
        self.cwr_forwards = 0
        self.inside_cwr = False
        mask_attn, cwr = classify_module.mask_attn, classify_module.cwr
        encode = model.encode_image_tagclip

        def mask_attn_spy(logits_coarse, logits, h, w, attn_weight):
            out = mask_attn(logits_coarse, logits, h, w, attn_weight)
            self.calls["mask_attn"] = dict(coarse=logits_coarse.clone(), first=logits.clone(),
                                           attention=attn_weight.clone(), refined=out.clone())
            return out

        def cwr_spy(logits, logits_max, h, w, image, text_features):
            local = logits_max.clone()
            self.inside_cwr = True
            try:
                out = cwr(logits, logits_max, h, w, image, text_features)
            finally:
                self.inside_cwr = False
            self.calls["cwr"] = dict(refined=logits.clone(), local=local, image=image.clone(),
                                     text=text_features.clone(), scores=out.clone())
            return out

        def encode_spy(*a, **k):
            if self.inside_cwr:
                self.cwr_forwards += 1
            return encode(*a, **k)

        classify_module.mask_attn = mask_attn_spy
        classify_module.cwr = cwr_spy
        model.encode_image_tagclip = encode_spy


@contextlib.contextmanager
def working_directory(path):
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def run_case(classify, clip, checkpoint, image_dir, image, vocab, dataset, scratch):
    """Runs the reference's classify() on one image; returns the recorder and the labels."""
    import clip_text  # the authors' class lists

    model, _ = clip.load(checkpoint, device="cpu")
    model.eval()
    fg, bg = vocabulary(vocab, clip_text)
    classify.args = types.SimpleNamespace(dataset=dataset, img_root=scratch, save_file=True,
                                          split_file=None, model_path=checkpoint)
    classify.model, classify.device, classify.model_type = model, "cpu", "clip"
    classify.class_names = list(fg) + list(bg)
    classify.NUM_CLASSES = len(fg)
    classify.coco_stuff_182_to_171 = {0: 0}  # only used to map the (dummy) ground truth
    # classify() appends ".jpg" to the ids of its split file.
    link = os.path.join(scratch, "case.jpg")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink(os.path.abspath(os.path.join(image_dir, image)), link)
    classify.image_list, classify.all_label_list = ["case.jpg"], [["0"]]

    recorder = Recorder(classify, model)
    os.makedirs(os.path.join(scratch, "output"), exist_ok=True)
    with working_directory(scratch), contextlib.redirect_stdout(open(os.devnull, "w")):
        classify.classify()
    with open(os.path.join(scratch, "output", f"{dataset}_val_tagclip.txt")) as saved:
        labels = [int(v) for v in saved.read().split()[1:]]
    return recorder, labels, len(fg)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", required=True)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--bpe", required=True)
    parser.add_argument("--images", default=os.path.join(REPO, "tests", "data", "images"))
    parser.add_argument("--out", default=os.path.join(REPO, "tests", "data", "golden",
                                                      "pipeline_reference"))
    parser.add_argument("--make-images", action="store_true",
                        help="first recreate the photos listed in MADE_IMAGES in --images")
    args = parser.parse_args()
    if args.make_images:
        make_images(args.images)
    sys.path.insert(0, args.reference)
    shutil.copy(args.bpe, os.path.join(args.reference, "clip", "bpe_simple_vocab_16e6.txt.gz"))
    import clip  # the authors' package
    import classify as classify_module  # the authors' classify.py

    torch.set_num_threads(1)
    original = dict(mask_attn=classify_module.mask_attn, cwr=classify_module.cwr)

    writer = GoldenWriter(
        "TagCLIP end to end as the authors' classify.py computes it (fp32, CPU) on the random "
        "checkpoint `tagclip random-checkpoint --seed 0`: per image the reference's "
        "preprocessed tensor, per vocabulary its normalised text features, per case the final "
        "foreground scores and the labels it saves. Made by "
        "scripts/golden/make_pipeline_golden.py.")
    stored_images, stored_texts, case_info = set(), {}, []
    with tempfile.TemporaryDirectory() as scratch:
        for name, image, vocab, dataset, keep in case_list():
            classify_module.mask_attn, classify_module.cwr = original["mask_attn"], \
                original["cwr"]
            recorder, labels, num_fg = run_case(classify_module, clip, args.checkpoint,
                                                args.images, image, vocab, dataset, scratch)
            cwr = recorder.calls["cwr"]
            if image not in stored_images:
                writer.add("image." + image, cwr["image"].numpy())
                stored_images.add(image)
            text = cwr["text"].numpy()
            if vocab in stored_texts:
                assert np.array_equal(stored_texts[vocab], text), vocab
            else:
                writer.add("text." + vocab, text)
                stored_texts[vocab] = text
            # How many candidates CWR had and how many it encoded: fewer forwards than
            # candidates means the early stop fired. The candidate rule is the documented
            # one, recomputed here only to log it.
            refined, local = cwr["refined"], cwr["local"]
            ratio = 0.1 if dataset == "cocostuff" else 0.5
            threshold = refined.min() + ratio * (refined.max() - refined.min())
            candidates = [int(i) for i in torch.nonzero(local > threshold).flatten()]
            info = dict(name=name, image=image, vocabulary=vocab, dataset=dataset,
                        foreground_classes=num_fg, labels=labels, cwr_candidates=candidates,
                        cwr_forwards=recorder.cwr_forwards,
                        cwr_early_stop=recorder.cwr_forwards < len(candidates),
                        grid=[int(cwr["image"].shape[-2]) // 16,
                              int(cwr["image"].shape[-1]) // 16])
            case_info.append(info)
            writer.add(name + ".scores", cwr["scores"].numpy())
            writer.add(name + ".labels", np.asarray(labels, dtype=np.int64), dtype=np.int64)
            if keep:
                spy = recorder.calls["mask_attn"]
                writer.add(name + ".coarse", spy["coarse"].numpy())
                writer.add(name + ".refined", spy["refined"].numpy())
                writer.add(name + ".local_scores", local.numpy())
            print(f"{name:40s} grid {info['grid']} candidates {candidates} forwards "
                  f"{recorder.cwr_forwards} early stop {info['cwr_early_stop']} labels {labels}")
    # The golden is only worth having if CWR ran on candidates and stopped early somewhere.
    assert any(c["cwr_forwards"] > 0 for c in case_info), "no case encoded a CWR candidate"
    assert any(c["cwr_early_stop"] for c in case_info), "no case stopped CWR early"
    writer.add_scalar("cases", case_info)
    writer.add_scalar("images", IMAGES)
    writer.add_scalar("custom_classes", CUSTOM_CLASSES)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    writer.save(args.out)
    print("wrote", args.out + ".json/.bin", os.path.getsize(args.out + ".bin"), "bytes")


if __name__ == "__main__":
    main()
