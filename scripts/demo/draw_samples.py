#!/usr/bin/env python3
"""Draws the sample scenes the README's first command tags with the demo CLIP
(samples/synthetic): benchmark-style scenes of 2 to 4 objects, each file named after what
it shows, so a reader can check the tags by eye.

  /usr/bin/python3 scripts/demo/draw_samples.py --out samples/synthetic

Seeded apart from the benchmark (make_synthetic_voc.py), so no sample is a test image.
"""
import argparse
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import draw_shapes  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="samples/synthetic")
    parser.add_argument("--count", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quality", type=int, default=90)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    os.makedirs(args.out, exist_ok=True)
    for i in range(args.count):
        rng = np.random.default_rng([args.seed, i])
        image, objects = draw_shapes.benchmark_scene(rng, 224, count=2 + i % 3)
        name = f"{i + 1:02d}_" + "_".join(o["name"] for o in objects) + ".jpg"
        cv2.imwrite(os.path.join(args.out, name), image[:, :, ::-1],
                    [cv2.IMWRITE_JPEG_QUALITY, args.quality])
        print(name)


if __name__ == "__main__":
    main()
