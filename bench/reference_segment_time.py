#!/usr/bin/env python3
"""Per-image time of the authors' CLIP-ES steps, for bench/compare_segment.sh:
  cams: generate_cams_voc.py's perform() on every image of --labels (text encoding excluded),
  crf:  eval_cam_with_crf.py's crf() with one job (one core) on those maps, --eval_only.
Their files are read from --reference (a checkout of github linyq2117/TagCLIP) and executed
as scripts/golden/make_cams_golden.py does (CUDA device line pointed at the CPU, unused
modules stubbed); nothing else of theirs is changed. crf() needs pydensecrf (built from its
public source; put it on PYTHONPATH) and Debian's python3-joblib; it reads ground truth, so
all-background PNGs are written for it.
Prints "reference cams per image: X ms" and "reference crf per image: Y ms"."""
import argparse
import os
import sys
import tempfile
import time
import types

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts", "golden"))


def time_cams(clip_es, model_path, images, labels, out_dir):
    from make_cams_golden import install_stubs, load_script, vocabulary
    install_stubs()  # before clip: its tokenizer imports ftfy
    import clip
    module = load_script(clip_es, "voc")
    model, _ = clip.load(model_path, device="cpu")
    fg_names, bg_names = vocabulary(module, "voc")
    module.device = "cpu"
    template = ["a clean origami {}."]
    bg = module.zeroshot_classifier(bg_names, template, model)
    fg = module.zeroshot_classifier(fg_names, template, model)
    cam = module.GradCAM(model=model, target_layers=[model.visual.transformer.resblocks[-1].ln_1],
                         reshape_transform=module.reshape_transform)
    names = [i + ".jpg" for i, _ in labels]
    module.all_label_list = [l for _, l in labels]
    args = types.SimpleNamespace(img_root=images, cam_out_dir=out_dir)
    start = time.perf_counter()
    module.perform(0, [names], args, model, bg, fg, cam)
    return (time.perf_counter() - start) / len(names)


def time_crf(clip_es, images, ids, cam_dir):
    gt_dir = tempfile.mkdtemp(prefix="reference-gt-")
    from PIL import Image
    for image_id in ids:
        width, height = Image.open(os.path.join(images, image_id + ".jpg")).size
        Image.fromarray(np.zeros((height, width), np.uint8)).save(
            os.path.join(gt_dir, image_id + ".png"))
    path = os.path.join(clip_es, "eval_cam_with_crf.py")
    module = types.ModuleType("eval_cam_with_crf")
    module.__file__ = path
    with open(path) as f:
        exec(compile(f.read(), path, "exec"), module.__dict__)
    # The module globals its __main__ block sets.
    module.args = types.SimpleNamespace(cam_out_dir=cam_dir, image_root=images, gt_root=gt_dir,
                                        eval_only=True, pseudo_mask_save_path="")
    module.eval_list = list(ids)
    module.mean_bgr = (104.008, 116.669, 122.675)
    start = time.perf_counter()
    module.crf(1, False)
    return (time.perf_counter() - start) / len(ids)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--images", required=True, help="folder of <id>.jpg")
    parser.add_argument("--labels", required=True, help="split file: id idx idx ...")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    clip_es = os.path.join(os.path.abspath(args.reference), "CLIP-ES")
    sys.path.insert(0, clip_es)
    os.chdir(clip_es)  # the scripts import their siblings (clip, pytorch_grad_cam, utils)
    import torch
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    labels = [(line.split()[0], line.split()[1:]) for line in open(args.labels) if line.strip()]
    cam_dir = tempfile.mkdtemp(prefix="reference-cams-")
    cams = time_cams(clip_es, args.model, args.images, labels, cam_dir)
    print(f"reference cams per image: {1e3 * cams:.1f} ms")
    crf = time_crf(clip_es, args.images, [i for i, _ in labels], cam_dir)
    print(f"reference crf per image: {1e3 * crf:.1f} ms")


if __name__ == "__main__":
    main()
