#!/usr/bin/env python3
"""Regenerates tests/data/crf_golden/: the reference's dense CRF (CLIP-ES eval_cam_with_crf.py,
pydensecrf's DenseCRF2D) on real photos with synthetic CAMs, for tests/test_dense_crf.cpp.

  PYTHONPATH=/path/to/built/pydensecrf /usr/bin/python3 scripts/golden/make_crf_golden.py \
      --reference /path/to/TagCLIP [--out tests/data/crf_golden]

pydensecrf (github.com/lucasb-eyer/pydensecrf, commit 2723c7f) built in place with
`python3 setup.py build_ext --inplace` (Debian's cython3; its setup_requires pin dropped, as
there is no network). joblib is replaced by a serial stand-in (the reference only uses
Parallel/delayed to spread images over processes).

For each photo of tests/data/images/ the reference's own `crf()` runs unchanged: it reads the JPEG
with cv2.imread, subtracts mean_bgr and casts to uint8, prepends bg = 1 - max to the float16
CAMs of the .npy file we write (dict 'attn_highres' [K, H, W] float16, 'keys'), runs
DenseCRF(10, 3, 1, 4, 67, 3) and writes the label PNG (0 or key + 1). Stored:
  <image>_crf.png       that label PNG, as written
  <image>_plain.png     the reference's DenseCRF class on the plain (unwrapped) image, argmax
                        channel index (the C++ switch reference_image_quirk = false)
  crf_golden.{json,bin} per image: cam_sample (every 7th value of the float16 CAMs, float32),
                        keys; scalars: the CAM formula's parameters, sha256 of the decoded BGR
                        image and of numpy's wrapped image; plus unary_all_halves (the
                        reference's unary for every float16 value in [0, 1]) and
                        float16_in/float16_out (numpy's float32 -> float16 rounding, ties
                        included).
The CAMs are a formula the C++ test recomputes (only +, -, *, / in float64, then float32,
then float16, so numpy and C++ agree bit for bit; the samples check that):
  r2 = ((x - cx W) / (rx W))^2 + ((y - cy H) / (ry H))^2,  cam = floor + peak (1 - r2)^2 for
  r2 < 1, else floor; plus ripple (x + 2y) mod 23 / 23 * 0.04 to give the maps a texture.
"""
import argparse
import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
import types

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_arrays import GoldenWriter  # noqa: E402

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
# image: (keys, blobs (cx, cy, rx, ry, peak, floor) as fractions of the width and height)
CASES = {
    "fruits": ([46, 49], [(0.30, 0.45, 0.30, 0.35, 0.9, 0.05), (0.72, 0.55, 0.28, 0.40, 0.8, 0.02)]),
    "squirrel": ([15], [(0.50, 0.55, 0.35, 0.40, 0.95, 0.03)]),
    "messi": ([0, 36, 31], [(0.35, 0.50, 0.25, 0.50, 0.85, 0.04), (0.70, 0.40, 0.30, 0.45, 0.7, 0.03),
                            (0.50, 0.85, 0.45, 0.20, 0.6, 0.01)]),
}
CAM_SAMPLE_STRIDE = 7
# The reference sets mean_bgr under its __main__ guard; crf() reads it as a module global.
MEAN_BGR = (104.008, 116.669, 122.675)


def synthetic_cams(height, width, blobs):
    """[K, H, W] float16 by the formula in the module doc."""
    y, x = np.meshgrid(np.arange(height, dtype=np.float64), np.arange(width, dtype=np.float64),
                       indexing="ij")
    ripple = np.mod(x + 2.0 * y, 23.0) / 23.0 * 0.04
    cams = []
    for cx, cy, rx, ry, peak, floor in blobs:
        dx = (x - cx * width) / (rx * width)
        dy = (y - cy * height) / (ry * height)
        r2 = dx * dx + dy * dy
        inside = 1.0 - r2
        cam = np.where(r2 < 1.0, floor + peak * (inside * inside), floor) + ripple
        cams.append(cam.astype(np.float32).astype(np.float16))
    return np.stack(cams)


def serial_joblib():
    module = types.ModuleType("joblib")

    def delayed(function):
        return lambda *args, **kwargs: (function, args, kwargs)

    class Parallel:
        def __init__(self, *args, **kwargs):
            pass

        def __call__(self, tasks):
            return [function(*args, **kwargs) for function, args, kwargs in tasks]

    module.delayed = delayed
    module.Parallel = Parallel
    return module


def load_reference(reference):
    sys.modules.setdefault("joblib", serial_joblib())
    path = os.path.join(reference, "CLIP-ES", "eval_cam_with_crf.py")
    spec = importlib.util.spec_from_file_location("eval_cam_with_crf", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sha256(array):
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reference", required=True, help="checkout of linyq2117/TagCLIP")
    parser.add_argument("--out", default=os.path.join(REPO, "tests", "data", "crf_golden"))
    args = parser.parse_args()
    ref = load_reference(args.reference)
    os.makedirs(args.out, exist_ok=True)
    writer = GoldenWriter("pydensecrf DenseCRF2D via CLIP-ES eval_cam_with_crf.py crf() on "
                          "tests/data/images photos with synthetic float16 CAMs")
    work = tempfile.mkdtemp(prefix="crf_golden_")
    folders = {name: os.path.join(work, name) for name in ("images", "gt", "cams", "masks")}
    for folder in folders.values():
        os.makedirs(folder)

    for name, (keys, blobs) in CASES.items():
        source = os.path.join(REPO, "tests", "data", "images", name + ".jpg")
        shutil.copy(source, os.path.join(folders["images"], name + ".jpg"))
        bgr = cv2.imread(source, cv2.IMREAD_COLOR)
        height, width = bgr.shape[:2]
        cv2.imwrite(os.path.join(folders["gt"], name + ".png"), np.zeros((height, width), np.uint8))
        cams = synthetic_cams(height, width, blobs)
        np.save(os.path.join(folders["cams"], name + ".npy"),
                {"attn_highres": cams, "keys": np.array(keys)})
        writer.add(name + "/cam_sample", cams.reshape(-1)[::CAM_SAMPLE_STRIDE].astype(np.float32))
        writer.add(name + "/keys", np.array(keys), dtype=np.int64)
        writer.add_scalar(name + "/blobs", [list(b) for b in blobs])
        writer.add_scalar(name + "/bgr_sha256", sha256(bgr))
        # The wrapped image, computed as the reference's process() does it.
        wrapped = bgr.astype(np.float32)
        wrapped -= MEAN_BGR
        writer.add_scalar(name + "/wrapped_sha256", sha256(wrapped.astype(np.uint8)))

        # The plain-image variant through the reference's DenseCRF class.
        probabilities = np.concatenate((1 - np.max(cams, axis=0, keepdims=True), cams), axis=0)
        crf = ref.DenseCRF(iter_max=10, pos_xy_std=1, pos_w=3, bi_xy_std=67, bi_rgb_std=3, bi_w=4)
        plain = np.argmax(crf(np.ascontiguousarray(bgr), probabilities), axis=0).astype(np.uint8)
        cv2.imwrite(os.path.join(args.out, name + "_plain.png"), plain)
        changed = np.mean(plain != np.argmax(probabilities, axis=0))
        print(f"{name}: {width}x{height}, plain-image CRF changed {changed:.1%} of the argmax")

    # The reference's crf() over the three images, as its __main__ sets it up.
    ref.args = argparse.Namespace(cam_out_dir=folders["cams"], gt_root=folders["gt"],
                                  image_root=folders["images"], eval_only=False,
                                  pseudo_mask_save_path=folders["masks"])
    ref.eval_list = list(CASES)
    ref.mean_bgr = MEAN_BGR
    ref.crf(1, False)
    for name, (keys, blobs) in CASES.items():
        mask = cv2.imread(os.path.join(folders["masks"], name + ".png"), cv2.IMREAD_UNCHANGED)
        shutil.copy(os.path.join(folders["masks"], name + ".png"),
                    os.path.join(args.out, name + "_crf.png"))
        height, width = mask.shape
        cams = synthetic_cams(height, width, blobs)
        probabilities = np.concatenate((1 - np.max(cams, axis=0, keepdims=True), cams), axis=0)
        argmax_labels = np.pad(np.array(keys) + 1, (1, 0))[np.argmax(probabilities, axis=0)]
        print(f"{name}: reference CRF changed {np.mean(mask != argmax_labels):.1%} of the argmax, "
              f"labels {np.unique(mask).tolist()}")

    # The unary for every float16 in [0, 1] (bit patterns 0x0000..0x3c00).
    halves = np.arange(0, 0x3C01, dtype=np.uint16).view(np.float16)
    import pydensecrf.utils as utils
    writer.add("unary_all_halves", utils.unary_from_softmax(halves.reshape(1, -1)).reshape(-1))
    # float32 -> float16 rounding: ties (odd multiples of half an ulp) and random values.
    rng = np.random.default_rng(11)
    ties = (np.arange(1, 2000, 2, dtype=np.float64) * 2.0 ** -11 + 1.0).astype(np.float32)
    small_ties = (np.arange(1, 400, 2, dtype=np.float64) * 2.0 ** -25).astype(np.float32)
    randoms = rng.random(2000, dtype=np.float32)
    float16_in = np.concatenate((ties, small_ties, randoms, -randoms[:50]))
    writer.add("float16_in", float16_in)
    writer.add("float16_out", float16_in.astype(np.float16).astype(np.float32))
    writer.save(os.path.join(args.out, "crf_golden"))
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
