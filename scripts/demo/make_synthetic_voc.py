#!/usr/bin/env python3
"""Writes the synthetic multi-object benchmark for the demo CLIP in PASCAL VOC's layout.

  /usr/bin/python3 scripts/demo/make_synthetic_voc.py --out tests/data/synthetic_voc

Each image is 224 x 224 and holds 1 to 4 objects of distinct classes from
models/demo_classes.txt (draw_shapes.CLASSES), in three size bands (22-40 px: 40%,
40-72: 35%, 72-120: 25%), on one background or two split by a horizon, with clutter. Later
objects may cover up to 40% of earlier ones; boxes bound what stays visible. Objects may
stick out of the frame by a sixth of their size (marked truncated).

Layout (what VOC readers expect):
  JPEGImages/<id>.jpg            quality 85
  Annotations/<id>.xml           <object><name>, <truncated>, <difficult>0, <bndbox> 1-based
  ImageSets/Main/test.txt        every id
  ImageSets/Main/<class>_test.txt  "id  1" or "id -1" per image, as VOC's per-class lists
  ImageSets/Main/regression.txt  the first --regression-count ids (tests/test_demo_quality)
  SegmentationClass/<id>.png     VOC's pixel labels: 8-bit palette PNG, 0 background, k + 1
                                 where object k covers at least 95% of the pixel, 255 (ignore)
                                 on anti-aliased edges (5-95%), as VOC's void borders
  ImageSets/Segmentation/test.txt, regression.txt   the same ids, for `tagclip eval-seg`
  test_cls.txt                   the reference's split format, "id idx idx ..." (class
                                 indices in models/demo_classes.txt order), for
                                 `tagclip tag` or `eval --split-file`

Image i is drawn from a generator seeded by (seed, i), so a longer dataset starts with the
same images. With several seeds, --count images are drawn from each in turn and numbered on
(the held-out split is seeds 2025 and 2026: its first 200 images are those of seed 2025 alone). Needs numpy, OpenCV and Pillow (Debian's python3-numpy, python3-opencv,
python3-pil).
"""
import argparse
import os
import sys
from xml.sax.saxutils import escape

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import draw_shapes  # noqa: E402


def annotation_xml(image_id, size, objects, folder):
    lines = ["<annotation>", f"\t<folder>{escape(folder)}</folder>",
             f"\t<filename>{image_id}.jpg</filename>",
             "\t<source>", "\t\t<database>tagclip synthetic shapes</database>",
             "\t\t<annotation>scripts/demo/make_synthetic_voc.py</annotation>", "\t</source>",
             "\t<size>", f"\t\t<width>{size}</width>", f"\t\t<height>{size}</height>",
             "\t\t<depth>3</depth>", "\t</size>", "\t<segmented>0</segmented>"]
    for obj in objects:
        x0, y0, x1, y1 = obj["box"]
        lines += ["\t<object>", f"\t\t<name>{obj['name']}</name>", "\t\t<pose>Unspecified</pose>",
                  f"\t\t<truncated>{int(obj['truncated'])}</truncated>",
                  "\t\t<difficult>0</difficult>",
                  "\t\t<bndbox>", f"\t\t\t<xmin>{x0 + 1}</xmin>", f"\t\t\t<ymin>{y0 + 1}</ymin>",
                  f"\t\t\t<xmax>{x1 + 1}</xmax>", f"\t\t\t<ymax>{y1 + 1}</ymax>", "\t\t</bndbox>",
                  "\t</object>"]
    lines.append("</annotation>")
    return "\n".join(lines) + "\n"


def voc_palette():
    """The VOC devkit's colour map, 256 RGB triples flattened."""
    palette = []
    for index in range(256):
        r = g = b = 0
        c = index
        for bit in range(7, -1, -1):
            r |= (c & 1) << bit
            g |= ((c >> 1) & 1) << bit
            b |= ((c >> 2) & 1) << bit
            c >>= 3
        palette += [r, g, b]
    return palette


def segmentation_labels(objects, size):
    """[size, size] uint8: 0 background, class index + 1 inside objects, 255 on edges."""
    labels = np.zeros((size, size), np.uint8)
    for obj in objects:  # drawing order; coverages no longer overlap (later ones cut earlier)
        coverage = obj["coverage"]
        labels[coverage >= 0.95] = draw_shapes.CLASSES.index(obj["name"]) + 1
        labels[(coverage > 0.05) & (coverage < 0.95)] = 255
    return labels


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="tests/data/synthetic_voc")
    parser.add_argument("--count", type=int, default=200, help="images per seed")
    parser.add_argument("--seed", type=int, nargs="+", default=[2024])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--quality", type=int, default=85)
    parser.add_argument("--regression-count", type=int, default=48)
    args = parser.parse_args()
    cv2.setNumThreads(1)

    for sub in ("JPEGImages", "Annotations", "ImageSets/Main", "SegmentationClass",
                "ImageSets/Segmentation"):
        os.makedirs(os.path.join(args.out, sub), exist_ok=True)
    folder = os.path.basename(os.path.normpath(args.out))
    ids, labels, counts = [], [], np.zeros(len(draw_shapes.CLASSES), int)
    sizes = []
    draws = [(seed, i) for seed in args.seed for i in range(args.count)]
    for number, (seed, i) in enumerate(draws, start=1):
        rng = np.random.default_rng([seed, i])
        image, objects = draw_shapes.benchmark_scene(rng, args.size)
        image_id = f"{number:06d}"
        cv2.imwrite(os.path.join(args.out, "JPEGImages", image_id + ".jpg"), image[:, :, ::-1],
                    [cv2.IMWRITE_JPEG_QUALITY, args.quality])
        mask = Image.fromarray(segmentation_labels(objects, args.size), mode="P")
        mask.putpalette(voc_palette())
        mask.save(os.path.join(args.out, "SegmentationClass", image_id + ".png"))
        with open(os.path.join(args.out, "Annotations", image_id + ".xml"), "w") as f:
            f.write(annotation_xml(image_id, args.size, objects, folder))
        present = sorted({draw_shapes.CLASSES.index(o["name"]) for o in objects})
        ids.append(image_id)
        labels.append(present)
        counts[present] += 1
        sizes += [o["size"] for o in objects]

    main_dir = os.path.join(args.out, "ImageSets", "Main")
    with open(os.path.join(main_dir, "test.txt"), "w") as f:
        f.writelines(i + "\n" for i in ids)
    with open(os.path.join(main_dir, "regression.txt"), "w") as f:
        f.writelines(i + "\n" for i in ids[:args.regression_count])
    for name, count in (("test", len(ids)), ("regression", args.regression_count)):
        with open(os.path.join(args.out, "ImageSets", "Segmentation", name + ".txt"), "w") as f:
            f.writelines(i + "\n" for i in ids[:count])
    for c, name in enumerate(draw_shapes.CLASSES):
        with open(os.path.join(main_dir, f"{name}_test.txt"), "w") as f:
            f.writelines(f"{i} {' 1' if c in present else '-1'}\n" for i, present in zip(ids, labels))
    with open(os.path.join(args.out, "test_cls.txt"), "w") as f:
        f.writelines(" ".join([i] + [str(c) for c in present]) + "\n"
                     for i, present in zip(ids, labels))

    objects_per_image = np.bincount([len(p) for p in labels], minlength=5)[1:]
    sizes = np.asarray(sizes)
    print(f"{len(ids)} images, objects per image 1..4: {objects_per_image.tolist()}, "
          f"objects {len(sizes)} (small <40 px: {(sizes < 40).sum()}, 40-72: "
          f"{((sizes >= 40) & (sizes < 72)).sum()}, >=72: {(sizes >= 72).sum()})")
    print("images per class: " + ", ".join(f"{n} {k}" for n, k in zip(draw_shapes.CLASSES, counts)))


if __name__ == "__main__":
    main()
