#!/usr/bin/env python3
"""Writes VOC-sized JPEGs (500x375 and 375x500, like most PASCAL VOC photos) made from the
test photos in tests/data/images, for the tagging benchmarks; with --size WxH, every image
is that size instead (phone-sized photos for bench/peak_memory.sh)."""
import argparse
import os

from PIL import Image

PHOTOS = ["fruits.jpg", "squirrel.jpg", "messi.jpg", "building_portrait.jpg", "happyfish_strip.jpg"]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_dir")
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--size", help="WxH of every image (default: VOC's two sizes)")
    args = parser.parse_args()
    fixed = tuple(int(v) for v in args.size.split("x")) if args.size else None
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "images")
    os.makedirs(args.out_dir, exist_ok=True)
    for i in range(args.count):
        photo = Image.open(os.path.join(root, PHOTOS[i % len(PHOTOS)])).convert("RGB")
        size = fixed or ((500, 375) if i % 3 else (375, 500))
        photo.resize(size, Image.BICUBIC).save(os.path.join(args.out_dir, f"{i:06d}.jpg"), quality=90)


if __name__ == "__main__":
    main()
