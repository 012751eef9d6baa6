#!/usr/bin/env python3
"""Regenerates tests/data/golden/metrics_reference.{json,bin}: the authors' compute_AP and
compute_F1 (utils.py) on seeded score arrays, for tests/test_multilabel_metrics.cpp.

  PYTHONPATH=/path/to/ftfy-stub /usr/bin/python3 scripts/golden/make_metrics_golden.py \
      --reference /path/to/TagCLIP

The reference's functions are imported and called as classify.py calls them: predictions a
float32 tensor, labels the float64 one-hot matrix, compute_F1 on clones. Nothing of the
metrics is recomputed here. Per case it stores
  <case>/scores [N, C] float32, <case>/labels [N, C] float32 (0/1),
  <case>/ap [C], <case>/map [1],
  <case>/<mode>_<binarisation> [3] = F1, P, R   (NaN where the reference gives NaN),
for the modes overall, category, sample and the binarisations rel0.5, rel0.1, top1, top3.

The tie cases are checked to be ones where torch's tie order matters: the script fails if a
stable sort would give the same AP for every class (the C++ test would then prove nothing).
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_arrays import GoldenWriter  # noqa: E402

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BINARISATIONS = {"rel0.5": (0.5, True), "rel0.1": (0.1, True), "top1": (1, False),
                 "top3": (3, False)}


def make_cases(rng):
    cases = {}
    # Plain random scores with one class that has no positive.
    scores = rng.random((300, 20), dtype=np.float32)
    labels = (rng.random((300, 20)) < 0.15).astype(np.float32)
    labels[:, 7] = 0
    cases["random"] = (scores, labels)
    # Quantised scores: every column is full of ties, longer than torch's insertion-sort cutoff.
    scores = (rng.integers(0, 5, (200, 10)) / 4).astype(np.float32)
    labels = (rng.random((200, 10)) < 0.3).astype(np.float32)
    cases["ties"] = (scores, labels)
    scores = (rng.integers(0, 40, (3000, 6)) / 40).astype(np.float32)
    labels = (rng.random((3000, 6)) < 0.2).astype(np.float32)
    cases["ties_long"] = (scores, labels)
    # A COCO-wide case: 80 classes, scores that look like softmax outputs.
    logits = rng.normal(0, 2, (400, 80)).astype(np.float32)
    scores = (np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)).astype(np.float32)
    labels = (rng.random((400, 80)) < 0.04).astype(np.float32)
    labels[np.arange(400), scores.argmax(axis=1)] = 1
    cases["softmax80"] = (scores, labels)
    # No positives anywhere: AP 0 everywhere, F1 0/0.
    cases["all_negative"] = (rng.random((40, 5), dtype=np.float32), np.zeros((40, 5), np.float32))
    # One image.
    cases["single_image"] = (np.array([[0.1, 0.7, 0.3, 0.7, 0.0]], np.float32),
                             np.array([[0, 1, 1, 0, 0]], np.float32))
    # Scores above 1 (logits), constant rows, negative scores: the in-place binarisation quirk.
    scores = (rng.random((60, 8), dtype=np.float32) * 3 - 0.5).astype(np.float32)
    scores[5] = 0.25
    scores[6] = 2.0
    scores[7] = np.linspace(0.9, 1.3, 8, dtype=np.float32)
    labels = (rng.random((60, 8)) < 0.3).astype(np.float32)
    cases["adversarial"] = (scores, labels)
    # Threshold exactly on a score: 0.1 * step in float32 decides.
    scores = np.array([[0.0, 0.1, 1.0, 0.05], [0.2, 0.3, 0.7, 0.3]], np.float32)
    labels = np.array([[0, 1, 1, 0], [1, 0, 1, 1]], np.float32)
    cases["threshold_edge"] = (scores, labels)
    return cases


def stable_ap(scores, labels):
    ap = []
    for c in range(scores.shape[1]):
        pos = labels[:, c].sum()
        if pos == 0:
            ap.append(0.0)
            continue
        order = np.argsort(-scores[:, c], kind="stable")
        hits = labels[order, c] == 1
        tp = np.cumsum(hits)
        ap.append(float((hits * tp / np.arange(1, len(order) + 1)).sum() / pos))
    return np.array(ap)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference", required=True, help="the authors' TagCLIP checkout")
    parser.add_argument("--out", default=os.path.join(REPO, "tests/data/golden/metrics_reference"))
    args = parser.parse_args()
    sys.path.insert(0, os.path.abspath(args.reference))
    import utils  # the reference's utils.py

    writer = GoldenWriter("compute_AP / compute_F1 of the authors' utils.py, torch " +
                          torch.__version__)
    names = []
    for name, (scores, labels) in make_cases(np.random.default_rng(2024)).items():
        predictions = torch.tensor(scores)  # float32, as torch.tensor(list of float32 arrays)
        one_hot = torch.tensor(labels.astype(np.float64))  # classify.py's np.zeros one-hot
        ap = utils.compute_AP(predictions, one_hot)
        writer.add(name + "/scores", scores)
        writer.add(name + "/labels", labels)
        writer.add(name + "/ap", ap.numpy())
        writer.add(name + "/map", [torch.mean(ap).item()])
        if name.startswith("ties"):
            differs = np.abs(stable_ap(scores, labels) - ap.numpy()).max()
            print(f"{name}: largest AP change under a stable sort {differs:.3g}")
            if differs < 1e-6:
                sys.exit(f"{name}: torch's tie order does not change AP; pick another seed")
        for mode in ("overall", "category", "sample"):
            for tag, (k_val, relative) in BINARISATIONS.items():
                if not relative and k_val > scores.shape[1]:
                    continue
                f1, p, r = utils.compute_F1(predictions.clone(), one_hot.clone(), mode, k_val,
                                            use_relative=relative)
                writer.add(f"{name}/{mode}_{tag}", [float(f1), float(p), float(r)])
        names.append(name)
        print(f"{name}: {scores.shape}, mAP {torch.mean(ap).item():.6f}")
    writer.add_scalar("cases", names)
    writer.save(args.out)
    print("wrote", args.out + ".{json,bin}")


if __name__ == "__main__":
    main()
