#!/usr/bin/env python3
"""Scores a demo CLIP on the six sample scenes (samples/synthetic), the way the README's
first command shows them: how many of their objects `tagclip tag` names and how many
false tags it adds. Each file name lists the scene's classes ("03_four_heart_seven_circle.jpg").

  python3 scripts/demo/score_samples.py [--model models/demo-clip.pt] [--out DIR]

Prints one line per scene and a total: objects tagged / objects, false tags per scene.
"""
import argparse
import json
import os
import subprocess
import sys


def shown_classes(file_name):
    """"03_four_heart_seven_circle.jpg" -> {"four", "heart", "seven", "circle"}."""
    stem = os.path.splitext(os.path.basename(file_name))[0]
    return set(stem.split("_")[1:])


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=os.path.join(root, "models/demo-clip.pt"))
    parser.add_argument("--out", default="sample-scores",
                        help="folder for tag's records (tags.jsonl)")
    parser.add_argument("--build", default=os.environ.get("TAGCLIP_BUILD_DIR",
                                                          os.path.join(root, "build")))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    records = os.path.join(args.out, "tags.jsonl")
    if os.path.exists(records):
        os.remove(records)  # tag resumes from an existing file; score this model afresh
    subprocess.run([os.path.join(args.build, "tagclip"), "-q", "tag",
                    "--model", args.model,
                    "--bpe", os.path.join(root, "models/bpe_simple_vocab_16e6.txt.gz"),
                    "--classes", os.path.join(root, "models/demo_classes.txt"),
                    os.path.join(root, "samples/synthetic"), "-o", records], check=True)
    found = total = false = scenes = 0
    with open(records) as lines:
        for line in lines:
            record = json.loads(line)
            truth = shown_classes(record["image"])
            tags = {tag["label"] for tag in record["tags"]}
            found += len(tags & truth)
            total += len(truth)
            false += len(tags - truth)
            scenes += 1
            print(f"{os.path.basename(record['image'])}: tagged {sorted(tags)}, "
                  f"missed {sorted(truth - tags)}, false {sorted(tags - truth)}")
    if scenes == 0:
        sys.exit("score_samples: tag wrote no records")
    print(f"objects tagged {found}/{total} ({100 * found / total:.0f}%), "
          f"false tags per scene {false / scenes:.2f}")


if __name__ == "__main__":
    main()
