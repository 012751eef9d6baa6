#!/usr/bin/env python3
"""Where the methods differ on the synthetic benchmark: for each `tagclip eval` (or `tag`)
predictions file, how many ground-truth objects it finds, by object size and by objects
per image, next to its false tags. Complements `tagclip eval`'s mAP and F1, which pool
everything.

  /usr/bin/python3 scripts/demo/ablation_breakdown.py --root tests/data/synthetic_voc \
      --classes models/demo_classes.txt global.jsonl coarse.jsonl dmar.jsonl tagclip.jsonl

Columns:
  tagged small/medium/large  share of objects whose class is among the image's tags (the
                             relative threshold), by box size max(w, h): < 40, 40-72, >= 72 px
  top-n                      share of objects whose class is among the image's n best
                             scores, n = the image's number of classes (no threshold)
  found 1/2/3/4              tagged share on images with 1, 2, 3, 4 objects
  false tags/image           tags of classes the image does not show
A second table, by objects per image n = 1..4:
  exact n                    share of the images whose tags are exactly their classes
                             (for n <= 4 the same as "at least 80% of the objects found
                             and no false tag", the README's sample-scene target)
  false n                    false tags per image
Needs only the standard library.
"""
import argparse
import json
import os
import xml.etree.ElementTree as ElementTree


def read_classes(path):
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def read_objects(root, image_id):
    """[(class name, size band)] of Annotations/<id>.xml."""
    tree = ElementTree.parse(os.path.join(root, "Annotations", image_id + ".xml"))
    objects = []
    for obj in tree.getroot().iter("object"):
        box = obj.find("bndbox")
        w = int(box.findtext("xmax")) - int(box.findtext("xmin")) + 1
        h = int(box.findtext("ymax")) - int(box.findtext("ymin")) + 1
        side = max(w, h)
        band = "small" if side < 40 else "medium" if side < 72 else "large"
        objects.append((obj.findtext("name").strip(), band))
    return objects


def breakdown(root, classes, path):
    counts = {}

    def add(key, hit):  # hit: a bool, or a count (a share then reads as a mean per image)
        total, hits = counts.get(key, (0, 0))
        counts[key] = (total + 1, hits + int(hit))

    images = false_tags = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if "scores" not in record:
                continue
            image_id = os.path.splitext(os.path.basename(record["image"]))[0]
            objects = read_objects(root, image_id)
            present = {name for name, _ in objects}
            tags = {tag["label"] for tag in record["tags"]}
            ranked = sorted(classes, key=lambda c: -record["scores"][c])[:len(present)]
            for name, band in objects:
                add(band, name in tags)
                add("top-n", name in ranked)
            for name in present:
                add(f"found {len(present)}", name in tags)
            false = len(tags - present)
            add(f"exact {len(present)}", tags == present)
            add(f"false {len(present)}", false)
            false_tags += false
            images += 1
    share = {key: hits / total for key, (total, hits) in counts.items()}
    return share, false_tags / max(1, images), images


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="VOC-layout folder (Annotations/)")
    parser.add_argument("--classes", required=True, help="class file, one per line")
    parser.add_argument("predictions", nargs="+", help="JSON Lines from tagclip eval or tag")
    args = parser.parse_args()
    classes = read_classes(args.classes)
    columns = ["small", "medium", "large", "top-n", "found 1", "found 2", "found 3", "found 4"]
    results = [(path, *breakdown(args.root, classes, path)) for path in args.predictions]
    print("| predictions | " + " | ".join(columns) + " | false tags/image | images |")
    print("|---" * (len(columns) + 3) + "|")
    for path, share, false_per_image, images in results:
        cells = [f"{100 * share[c]:.1f}" if c in share else "-" for c in columns]
        print(f"| {os.path.basename(path)} | " + " | ".join(cells) +
              f" | {false_per_image:.2f} | {images} |")
    exact = [f"exact {n}" for n in range(1, 5)]
    false = [f"false {n}" for n in range(1, 5)]
    print()
    print("| predictions | " + " | ".join(exact + false) + " |")
    print("|---" * (len(exact) + len(false) + 1) + "|")
    for path, share, _, _ in results:
        cells = [f"{100 * share[c]:.1f}" if c in share else "-" for c in exact]
        cells += [f"{share[c]:.2f}" if c in share else "-" for c in false]
        print(f"| {os.path.basename(path)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
