#!/usr/bin/env python3
"""Regenerates tests/data/clip_es_cams/cams_reference.{json,bin}: CLIP-ES's class activation
maps as the authors' generate_cams_{voc,coco,cocostuff}.py compute them, on the random
checkpoint `tagclip random-checkpoint --seed 0` (12 vision blocks of width 128, patch 16;
a 2-block text tower), for tests/test_clip_es_cams.cpp.

Each script's file is read from --reference (a checkout of github linyq2117/TagCLIP) and
executed in memory, with three textual patches and nothing else changed:
  - `device_id = "cuda:{}".format(process_id % n_gpus)` becomes `device_id = "cpu"`;
  - the commented-out `#"highres": ...` entry of the saved dict is made active, so the
    reference also saves its unrefined Grad-CAM (resized to the original size, float16)
    next to `attn_highres`: `highres` below comes from that line, not from a recomputation;
  - nothing runs under `__main__`: the script sets the module globals that block would
    (device, all_label_list, new_class_names_cocostuff171 as generate_cams_cocostuff.py
    builds it), encodes the text with the module's own zeroshot_classifier, builds the
    module's GradCAM on resblocks[-1].ln_1 and calls the module's perform() on one image.
QUIRK: with 1 + n = 77 tokens the reference's encoder runs every block, the last one too,
and the Grad-CAM forward hook on its ln_1 fires there, before GradCAM has set the grid the
hook reshapes with: on a run's first image that raises AttributeError, after an image of
another patch count a reshape error, so the authors' loop aborts; only after an image with
the same patch count does it go on (and the last block then runs twice). For the strip the
script sets the hook's grid (4, 19) beforehand, the state such a preceding image leaves,
and records what the reference computes then.
`ttach`, `lxml` and `tqdm` (unused on this path) and `ftfy` (prompts are ASCII) are stubs.
perform() writes its pickled dict with np.save into a scratch folder; it is read back here.

The C++ test decodes the same image files and tokenizes the same prompts itself, so the
comparison covers preprocessing, text encoding, the encoder, Grad-CAM and the refinement.
Arrays are float16 in the reference; the golden keeps every SAMPLE_STRIDE-th value of each
flattened [K, H, W] array (as float32, exact) and the C++ test samples the same positions.

  build/tagclip random-checkpoint /tmp/fidelity.pt --seed 0
  /usr/bin/python3 scripts/golden/make_cams_golden.py --reference /path/to/TagCLIP \\
      --checkpoint /tmp/fidelity.pt [--make-images]

Needs Debian's python3-torch, python3-torchvision, python3-opencv, python3-pil and
python3-regex (CLIP's tokenizer).
"""
import argparse
import os
import sys
import tempfile
import types

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_arrays import GoldenWriter  # noqa: E402

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SAMPLE_STRIDE = 23

# The strip: 1 + 4 * 19 patches = 77 tokens, the reference's "text" test (see the docs).
STRIP = "fruits_strip.png"
QUIRK_GRID = {"clip_es_cams/" + STRIP: (4, 19)}

# (case, image path relative to tests/data, dataset, labels in line order)
CASES = [
    ("fruits.voc", "images/fruits.jpg", "voc", [4, 15]),
    ("squirrel.voc", "images/squirrel.jpg", "voc", [7]),
    ("messi.coco", "images/messi.jpg", "coco", [0, 32, 0]),
    ("fruits.coco", "images/fruits.jpg", "coco", [46, 47, 49]),
    ("strip.voc", "clip_es_cams/" + STRIP, "voc", [14, 2]),
    ("strip.coco", "clip_es_cams/" + STRIP, "coco", [0]),
    ("squirrel.cocostuff", "images/squirrel.jpg", "cocostuff", [15, 168]),
]

SCRIPTS = {"voc": "generate_cams_voc.py", "coco": "generate_cams_coco.py",
           "cocostuff": "generate_cams_cocostuff.py"}
DEVICE_LINE = 'device_id = "cuda:{}".format(process_id % n_gpus)'
HIGHRES_LINE = '#"highres": highres_cam_all_scales'


def make_strip(data_dir):
    """fruits.jpg rows 100..149 resized to 300x61 (Pillow LANCZOS), saved as PNG."""
    from PIL import Image
    image = Image.open(os.path.join(data_dir, "images", "fruits.jpg")).convert("RGB")
    strip = image.crop((0, 100, 250, 150)).resize((300, 61), Image.LANCZOS)
    os.makedirs(os.path.join(data_dir, "clip_es_cams"), exist_ok=True)
    strip.save(os.path.join(data_dir, "clip_es_cams", STRIP))


def install_stubs():
    for name in ("ttach", "lxml", "tqdm", "ftfy"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["lxml"].etree = types.ModuleType("lxml.etree")
    sys.modules["lxml.etree"] = sys.modules["lxml"].etree
    sys.modules["tqdm"].tqdm = lambda iterable, *a, **k: iterable
    sys.modules["ftfy"].fix_text = lambda text: text


def load_script(clip_es, dataset):
    path = os.path.join(clip_es, SCRIPTS[dataset])
    with open(path) as f:
        source = f.read()
    for old, new in ((DEVICE_LINE, 'device_id = "cpu"'),
                     (HIGHRES_LINE, '"highres": highres_cam_all_scales')):
        assert source.count(old) == 1, (path, old)
        source = source.replace(old, new)
    module = types.ModuleType("clip_es_" + dataset)
    module.__file__ = path
    exec(compile(source, path, "exec"), module.__dict__)
    return module


def vocabulary(module, dataset):
    """The class prompts and background words the script's __main__ would encode."""
    import clip_text
    if dataset == "voc":
        return clip_text.new_class_names, clip_text.BACKGROUND_CATEGORY
    if dataset == "coco":
        return clip_text.new_class_names_coco, clip_text.BACKGROUND_CATEGORY_COCO
    names = [clip_text.class_names_coco_stuff182_dict[k]
             for k in clip_text.class_names_coco_stuff182_dict
             if k not in [0, 12, 26, 29, 30, 45, 66, 68, 69, 71, 83, 91]]
    module.new_class_names_cocostuff171 = names
    return names, ["background"]


def run_case(module, dataset, model, image_path, labels, scratch, quirk_grid):
    fg_names, bg_names = vocabulary(module, dataset)
    module.device = "cpu"
    template = ["a clean origami {}."]
    bg = module.zeroshot_classifier(bg_names, template, model)
    fg = module.zeroshot_classifier(fg_names, template, model)
    cam = module.GradCAM(model=model, target_layers=[model.visual.transformer.resblocks[-1].ln_1],
                         reshape_transform=module.reshape_transform)
    root, name = os.path.split(os.path.abspath(image_path))
    if quirk_grid is not None:
        # See QUIRK in the docstring: the hook's grid as a preceding same-size image leaves it.
        cam.activations_and_grads.height, cam.activations_and_grads.width = quirk_grid
    args = types.SimpleNamespace(img_root=root, cam_out_dir=scratch)
    label_list = [[str(v) for v in labels]]
    if dataset == "voc":
        module.all_label_list = label_list
        module.perform(0, [[name]], args, model, bg, fg, cam)
    else:
        module.perform(0, [[name]], args, model, bg, fg, cam, [label_list])
    saved = name.replace("jpg", "npy")
    saved = saved if saved.endswith(".npy") else saved + ".npy"
    result = np.load(os.path.join(scratch, saved), allow_pickle=True).item()
    return result, fg_names, bg_names


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", required=True, help="checkout of linyq2117/TagCLIP")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--data", default=os.path.join(REPO, "tests", "data"))
    parser.add_argument("--out", default=os.path.join(REPO, "tests", "data", "clip_es_cams",
                                                      "cams_reference"))
    parser.add_argument("--make-images", action="store_true",
                        help="first recreate tests/data/clip_es_cams/" + STRIP)
    args = parser.parse_args()
    if args.make_images:
        make_strip(args.data)
    install_stubs()
    clip_es = os.path.join(args.reference, "CLIP-ES")
    sys.path.insert(0, clip_es)
    import clip  # the authors' CLIP-ES copy of CLIP

    torch.set_num_threads(1)
    model, _ = clip.load(args.checkpoint, device="cpu")
    modules = {d: load_script(clip_es, d) for d in SCRIPTS}
    writer = GoldenWriter(
        "CLIP-ES CAMs as the authors' generate_cams_{voc,coco,cocostuff}.py save them (CPU, "
        "fp32) on the random checkpoint `tagclip random-checkpoint --seed 0`; float16 values "
        "stored as float32, every %d-th of each flattened [K, H, W] array. Made by "
        "scripts/golden/make_cams_golden.py." % SAMPLE_STRIDE)
    cases, vocabularies = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, image, dataset, labels in CASES:
            result, fg_names, bg_names = run_case(modules[dataset], dataset, model,
                                                  os.path.join(args.data, image), labels,
                                                  scratch, QUIRK_GRID.get(image))
            vocabularies[dataset] = {"classes": list(fg_names), "background": list(bg_names)}
            attn, high = result["attn_highres"], result["highres"]
            assert attn.dtype == np.float16 and high.dtype == np.float16
            writer.add(name + ".keys", result["keys"], dtype=np.int64)
            writer.add(name + ".attn_highres", attn.reshape(-1)[::SAMPLE_STRIDE])
            writer.add(name + ".highres", high.reshape(-1)[::SAMPLE_STRIDE])
            cases.append({"name": name, "image": image, "dataset": dataset, "labels": labels,
                          "shape": list(attn.shape)})
            print(f"{name:20s} {image:32s} shape {list(attn.shape)} keys {result['keys']}")
    writer.add_scalar("cases", cases)
    writer.add_scalar("sample_stride", SAMPLE_STRIDE)
    writer.add_scalar("vocabularies", vocabularies)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    writer.save(args.out)
    print("wrote", args.out + ".json/.bin", os.path.getsize(args.out + ".bin"), "bytes")


if __name__ == "__main__":
    main()
