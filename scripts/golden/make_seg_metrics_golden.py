#!/usr/bin/env python3
"""Regenerates tests/data/seg_eval_golden/: a tiny synthetic segmentation benchmark per
dataset (VOC, 21 classes; COCO, 81; COCO-Stuff, 27 coarse) scored by the authors' own
eval_cam.py / eval_cam_cocostuff.py, for tests/test_segmentation_metrics.cpp,
tests/test_cam_to_mask.cpp and tests/test_eval_seg_command.cpp.

  /usr/bin/python3 scripts/golden/make_seg_metrics_golden.py --reference /path/to/TagCLIP \
      [--npz-writer FILE --cam-writer FILE]

The reference's modules are imported from --reference/CLIP-ES and only called: their
run_eval_cam() reads pickled-dict <id>.npy CAM files (written to a temporary folder here)
or <id>.png masks, and the GT PNGs; scores() is wrapped to record what run_eval_cam passes
it (the predicted masks) and what it returns. Per dataset it writes
  <dataset>/gt/<id>.png      ground truth (VOC: palette PNG; COCO, COCO-Stuff: 8-bit gray)
                             with 255 borders and a few out-of-range values
  <dataset>/cams/<id>.npz    the same CAMs as numpy.savez (even ids) or savez_compressed
                             (odd ids): keys int64 [K], attn_highres, highres float16 [K,H,W]
  <dataset>/masks/<id>.png   mask predictions in tagclip's convention (0 background, class k
                             as k + 1; COCO-Stuff: k + 1, no background)
  <dataset>/split.txt        the ids, `id idx ...` as the authors' split files
fortran_order.npz and float64.npz (arrays our reader refuses), and, for all datasets,
expected.json (the reference's scores() per case, NaN as null) and
expected_masks.npz (the reference's predicted masks per case and id, uint8).

--npz-writer / --cam-writer: files written by our C++ writer for the fixed inputs of
tests/test_npz.cpp (the test prints where it put them when the committed copies differ);
they are loaded here with numpy.load (no pickle), checked value by value and committed as
npz_writer_arrays.npz and cam_file_writer.npz.
"""
import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import types

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data",
                   "seg_eval_golden")
SIZES = [(37, 53), (48, 31), (20, 20), (29, 44)]  # (H, W) per image
POWERS = list(range(1, 11))
CONSTANT = 0.3


def voc_palette():
    palette = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette += [r, g, b]
    return palette


def save_png(path, array, palette):
    image = Image.fromarray(array.astype(np.uint8), mode="L")
    if palette:
        image.putpalette(voc_palette())  # an L image becomes P with the same indices
    image.save(path)
    back = np.asarray(Image.open(path))
    assert (back == array).all(), path


def smooth_maps(rng, k, h, w):
    """[k, h, w] float16 maps in [0, 1]: smooth blobs, quantised so ties occur."""
    yy, xx = np.mgrid[0:h, 0:w]
    maps = np.zeros((k, h, w), np.float32)
    for c in range(k):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        s = rng.uniform(0.2, 0.5) * max(h, w)
        maps[c] = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
    maps = np.round(maps * 16) / 16  # many exact ties between maps, and max = 0.5 (bg ties)
    maps = maps.astype(np.float16)
    if k > 1:
        maps[1, : h // 3, : w // 3] = maps[0, : h // 3, : w // 3]  # ties between classes
    maps[0, 0, 0] = 1.0
    maps[-1, -1, -1] = 0.0
    return maps


def make_dataset(rng, name, key_range, gt_values, background):
    # The ground-truth value of class key k: k + 1 with background; COCO-Stuff's GT holds the
    # 182 fine ids, of which the 171 classes skip 11 (1-based 12, 26, 29, ...).
    unused = [12, 26, 29, 30, 45, 66, 68, 69, 71, 83, 91]
    ids182 = [i for i in range(182) if i + 1 not in unused]
    to_gt = (lambda k: k + 1) if background else (lambda k: ids182[k])
    data = []
    for i, (h, w) in enumerate(SIZES):
        image_id = "%s_%04d" % (name, i + 1)
        k = 1 + i % 3 + (name == "cocostuff")
        keys = rng.choice(key_range, size=k, replace=False).astype(np.int64)
        if i == 2:
            keys[-1] = keys[0]  # a repeated label, as a split file may hold
        attn = smooth_maps(rng, k, h, w)
        # Weaker, noisier maps than attn: the background sweep's best power is above 1.
        highres = (attn * 0.45 + rng.random((k, h, w)) * 0.2).astype(np.float16)
        highres[0, 1, 1] = 1.25  # 1 - max < 0: odd and even powers differ in sign
        gt = np.full((h, w), gt_values[0], np.uint8)
        for _ in range(4):
            y0, x0 = rng.integers(0, h - 4), rng.integers(0, w - 4)
            y1, x1 = y0 + rng.integers(3, h - y0 + 1), x0 + rng.integers(3, w - x0 + 1)
            # Mostly the image's own classes, so predictions and ground truth overlap.
            value = rng.choice(gt_values[1]) if rng.random() < 0.3 else to_gt(rng.choice(keys))
            gt[y0:y1, x0:x1] = value
            gt[y0, x0:x1] = 255  # VOC-style ignore boundary
        gt[:, 0] = 255
        gt[h // 2, w // 2] = gt_values[2]  # above n_class but not 255: ignored too
        mask = rng.integers(0, 4, (h, w))
        pick = np.concatenate(([0] if background else [], keys + 1)).astype(np.uint8)
        ours = pick[mask % len(pick)]
        data.append(dict(id=image_id, keys=keys, attn=attn, highres=highres, gt=gt, ours=ours))
    return data


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def as_json(value):
    value = float(value)
    return None if np.isnan(value) else value


def run_reference(module, eval_list, cam_dir, gt_root, cam_type, thres, **flags):
    recorded = {}
    original = module.scores

    def recording_scores(label_trues, label_preds, n_class):
        result = original(label_trues, label_preds, n_class)
        recorded.update(result=result, preds=[np.array(p) for p in label_preds], n_class=n_class)
        return result

    module.scores = recording_scores
    module.eval_list = eval_list
    args = types.SimpleNamespace(cam_out_dir=cam_dir, cam_type=cam_type, cam_eval_thres=thres,
                                 gt_root=gt_root)
    miou = module.run_eval_cam(args, **flags)
    module.scores = original
    r = recorded["result"]
    assert miou == r["Mean IoU"]
    metrics = {"n_class": recorded["n_class"], "mIoU": as_json(r["Mean IoU"]),
               "pixel_accuracy": as_json(r["Pixel Accuracy"]),
               "mean_accuracy": as_json(r["Mean Accuracy"]),
               "fw_iou": as_json(r["Frequency Weighted IoU"]),
               "class_iou": [as_json(r["Class IoU"][c]) for c in range(recorded["n_class"])]}
    return metrics, recorded["preds"]


def check_writer_files(npz_writer, cam_writer):
    # The fixed inputs of tests/test_npz.cpp.
    with np.load(npz_writer) as f:  # allow_pickle is False by default
        assert list(f.keys()) == ["keys", "maps", "mask", "scores", "counts", "scalar", "empty"]
        assert f["keys"].dtype == np.int64 and f["keys"].tolist() == [3, 0, 14]
        maps = (np.arange(12) * 0.25 - 1).reshape(2, 2, 3).astype(np.float16)
        assert f["maps"].dtype == np.float16 and (f["maps"] == maps).all()
        assert f["mask"].dtype == np.uint8 and f["mask"].tolist() == [[0, 40, 80], [120, 160, 200]]
        assert f["scores"].dtype == np.float32
        assert f["scores"].tolist() == np.array([0.5, -1.25, 1024.0, 0.1], np.float32).tolist()
        assert f["counts"].dtype == np.int32
        assert f["counts"].tolist() == [[1, -2], [3, 2**31 - 1]]
        assert f["scalar"].shape == () and f["scalar"].dtype == np.float32 and f["scalar"] == 7.0
        assert f["empty"].shape == (0, 3) and f["empty"].dtype == np.float16
    with np.load(cam_writer) as f:
        assert list(f.keys()) == ["keys", "attn_highres", "highres"]
        assert f["keys"].dtype == np.int64 and f["keys"].tolist() == [2, 11]
        values = np.arange(12, dtype=np.float32) / 7
        assert f["attn_highres"].dtype == np.float16
        assert (f["attn_highres"] == values.astype(np.float16).reshape(2, 2, 3)).all()
        assert (f["highres"] == (1 - values).astype(np.float16).reshape(2, 2, 3)).all()
    shutil.copy(npz_writer, os.path.join(OUT, "npz_writer_arrays.npz"))
    shutil.copy(cam_writer, os.path.join(OUT, "cam_file_writer.npz"))
    print("numpy.load reads both writer files as expected; copied into", OUT)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", required=True, help="checkout of linyq2117/TagCLIP")
    parser.add_argument("--npz-writer")
    parser.add_argument("--cam-writer")
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    if args.npz_writer or args.cam_writer:
        check_writer_files(args.npz_writer, args.cam_writer)
        return

    clip_es = os.path.join(args.reference, "CLIP-ES")
    eval_cam = load(os.path.join(clip_es, "eval_cam.py"), "eval_cam")
    eval_cam_cocostuff = load(os.path.join(clip_es, "eval_cam_cocostuff.py"), "eval_cam_cocostuff")

    rng = np.random.default_rng(2024)
    datasets = {
        # name: (module, flags, keys, (GT fill, GT values, ignored out-of-range value), bg)
        "voc": (eval_cam, {"is_coco": False}, np.arange(20), (0, np.arange(21), 21), True),
        "coco": (eval_cam, {"is_coco": True}, np.arange(80), (0, np.arange(81), 81), True),
        "cocostuff": (eval_cam_cocostuff, {"is_cocostuff": True}, np.arange(171),
                      (181, np.arange(182), 200), False),
    }
    expected = {"powers": POWERS, "constant": CONSTANT}
    masks = {}
    tmp = tempfile.mkdtemp()
    for name, (module, flags, key_range, gt_values, background) in datasets.items():
        data = make_dataset(rng, name, key_range, gt_values, background)
        folder = os.path.join(OUT, name)
        shutil.rmtree(folder, ignore_errors=True)
        for sub in ("gt", "cams", "masks"):
            os.makedirs(os.path.join(folder, sub))
        ref_cams = os.path.join(tmp, name, "cams")
        ref_masks = os.path.join(tmp, name, "masks")
        os.makedirs(ref_cams)
        os.makedirs(ref_masks)
        with open(os.path.join(folder, "split.txt"), "w") as split:
            for i, d in enumerate(data):
                split.write(d["id"] + " " + " ".join(str(k) for k in d["keys"]) + "\n")
                save_png(os.path.join(folder, "gt", d["id"] + ".png"), d["gt"], name == "voc")
                save_png(os.path.join(folder, "masks", d["id"] + ".png"), d["ours"], name == "voc")
                # The reference reads COCO-Stuff masks as class indices (no + 1).
                ref_mask = d["ours"] - 1 if name == "cocostuff" else d["ours"]
                save_png(os.path.join(ref_masks, d["id"] + ".png"), ref_mask, False)
                arrays = {"keys": d["keys"], "attn_highres": d["attn"], "highres": d["highres"]}
                save = np.savez if i % 2 == 0 else np.savez_compressed
                save(os.path.join(folder, "cams", d["id"] + ".npz"), **arrays)
                np.save(os.path.join(ref_cams, d["id"] + ".npy"), arrays)  # a pickled dict
        eval_list = [d["id"] for d in data]
        gt_root = os.path.join(folder, "gt")
        cases = {"attn_highres": ("attn_highres", 1)}
        if background:
            cases.update({"highres_p%d" % t: ("highres", t) for t in POWERS})
            cases["attn_highres_c%g" % CONSTANT] = ("attn_highres", CONSTANT)
        cases["png"] = ("png", 1)
        expected[name] = {}
        for case, (cam_type, thres) in cases.items():
            cam_dir = ref_masks if cam_type == "png" else ref_cams
            metrics, preds = run_reference(module, eval_list, cam_dir, gt_root, cam_type, thres,
                                           **flags)
            expected[name][case] = metrics
            for image_id, pred in zip(eval_list, preds):
                masks["%s__%s__%s" % (name, case, image_id)] = pred.astype(np.uint8)
        print(name, {case: round(m["mIoU"], 6) for case, m in expected[name].items()})
    shutil.rmtree(tmp)
    # Files our reader must refuse, naming the key.
    np.savez(os.path.join(OUT, "fortran_order.npz"), keys=np.arange(2, dtype=np.int64),
             maps=np.asfortranarray(np.arange(6, dtype=np.float16).reshape(2, 3)))
    np.savez(os.path.join(OUT, "float64.npz"), keys=np.arange(2, dtype=np.int64),
             attn_highres=np.zeros((2, 2, 2), np.float64))
    with open(os.path.join(OUT, "expected.json"), "w") as out:
        json.dump(expected, out, indent=1)
    np.savez_compressed(os.path.join(OUT, "expected_masks.npz"), **masks)


if __name__ == "__main__":
    main()
