#!/usr/bin/env python3
"""Compares two `tagclip tag` outputs of the same images (say fp32 and bf16): the share of
images whose tag sets are identical, the largest score difference, and the images that
differ. Exit 0 always; the figures are for people and bench/compare_tag.sh."""
import argparse
import json


def read(path):
    records = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                record = json.loads(line)
                records[record["image"]] = record
    return records


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("reference", help="JSON Lines taken as right (fp32)")
    parser.add_argument("other", help="JSON Lines compared with it (bf16)")
    parser.add_argument("--list", action="store_true", help="print each image that differs")
    args = parser.parse_args()
    reference, other = read(args.reference), read(args.other)
    common = [image for image in reference if image in other and "scores" in reference[image]
              and "scores" in other[image]]
    same, largest, differing = 0, 0.0, []
    for image in common:
        a, b = reference[image], other[image]
        tags_a = sorted(t["index"] for t in a["tags"])
        tags_b = sorted(t["index"] for t in b["tags"])
        same += tags_a == tags_b
        if tags_a != tags_b:
            differing.append((image, tags_a, tags_b))
        for name, score in a["scores"].items():
            largest = max(largest, abs(score - b["scores"][name]))
    share = 100.0 * same / len(common) if common else 0.0
    print(f"identical tag sets: {same}/{len(common)} images ({share:.2f}%), "
          f"largest score difference {largest:.2e}")
    if args.list:
        for image, tags_a, tags_b in differing:
            print(f"  {image}: {tags_a} vs {tags_b}")


if __name__ == "__main__":
    main()
