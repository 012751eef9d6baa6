#!/usr/bin/env python3
"""How sure a mAP gap between two methods is on the synthetic benchmark: resamples the
split's images with replacement and reports the 95% interval of mAP(B) - mAP(A) over the
resamples. The README's intervals on the held-out split come from

  python3 scripts/demo/bootstrap_map.py --root tests/data/synthetic_voc_heldout \
      --classes models/demo_classes.txt ablation/global.jsonl ablation/tagclip.jsonl

with the predictions of scripts/demo/run_ablation.sh (--root the same split). mAP is the
mean over classes present in the (resampled) split of the area under the precision-recall
curve, as `tagclip eval` reports it (its value on the whole split is printed beside, to
check). Needs only the standard library.
"""
import argparse
import json
import os
import random

from ablation_breakdown import read_classes, read_objects


def read_scores(path):
    """{image id: {class: score}} of a `tagclip eval -o` predictions file."""
    scores = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            image_id = os.path.splitext(os.path.basename(record["image"]))[0]
            scores[image_id] = record["scores"]
    return scores


def average_precision(scores, positives):
    """Area under the precision-recall curve of `scores` ranked high to low; None when no
    image is positive."""
    total = sum(positives)
    if total == 0:
        return None
    order = sorted(range(len(scores)), key=lambda k: -scores[k])
    hits, area = 0, 0.0
    for rank, k in enumerate(order, 1):
        if positives[k]:
            hits += 1
            area += hits / rank
    return area / total


def mean_average_precision(scores, truth, classes, sample):
    values = [average_precision([scores[i][c] for i in sample], [c in truth[i] for i in sample])
              for c in classes]
    values = [v for v in values if v is not None]
    return sum(values) / len(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", required=True, help="split folder (VOC layout)")
    parser.add_argument("--classes", required=True, help="class list, one per line")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("a", help="predictions of method A (jsonl)")
    parser.add_argument("b", help="predictions of method B (jsonl)")
    args = parser.parse_args()
    classes = read_classes(args.classes)
    a, b = read_scores(args.a), read_scores(args.b)
    if sorted(a) != sorted(b):
        parser.error(f"{args.a} and {args.b} score different images")
    images = sorted(a)
    truth = {i: {name for name, _ in read_objects(args.root, i)} for i in images}
    full_a = mean_average_precision(a, truth, classes, images)
    full_b = mean_average_precision(b, truth, classes, images)
    rng = random.Random(args.seed)
    gaps = []
    for _ in range(args.resamples):
        sample = [rng.choice(images) for _ in images]
        gaps.append(mean_average_precision(b, truth, classes, sample) -
                    mean_average_precision(a, truth, classes, sample))
    gaps.sort()
    low, high = gaps[int(0.025 * len(gaps))], gaps[int(0.975 * len(gaps)) - 1]
    print(f"mAP A {100 * full_a:.1f}, B {100 * full_b:.1f}, B - A {100 * (full_b - full_a):+.1f}; "
          f"over {len(gaps)} resamples: 95% interval [{100 * low:+.1f}, {100 * high:+.1f}], "
          f"B >= A in {100 * sum(g >= 0 for g in gaps) / len(gaps):.0f}%")


if __name__ == "__main__":
    main()
