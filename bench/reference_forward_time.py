#!/usr/bin/env python3
"""Times the authors' TagCLIP code on the same checkpoint and sizes as bench_forward, so the
two can be compared in one run (bench/compare_forward.sh). It imports their code from
--reference (a checkout of github linyq2117/TagCLIP) and only calls it."""
import argparse
import statistics
import sys
import time

import torch


def median_seconds(repeats, fn):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, args.reference)
    import clip  # the authors' package

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    model, _ = clip.load(args.model, device="cpu")
    model.eval()
    print(f"reference: torch {torch.__version__}, threads {torch.get_num_threads()}")
    with torch.no_grad():
        for h, w in [(224, 224), (384, 512)]:
            image = torch.randn(1, 3, h, w)
            seconds = median_seconds(
                args.repeats, lambda: model.encode_image_tagclip(image, h, w, attn_mask=1))
            print(f"reference vision forward {h}x{w} (HxW): {seconds * 1e3:.1f} ms")
        ids = torch.zeros(85, 77, dtype=torch.long)
        ids[:, :12] = torch.randint(1, 40000, (85, 12))
        ids[:, 0] = 49406
        ids[:, 12] = 49407
        seconds = median_seconds(args.repeats, lambda: model.encode_text(ids))
        print(f"reference text encode: {seconds * 1e3 / 85:.3f} ms per prompt "
              f"(batch of 85 prompts of 13 tokens)")


if __name__ == "__main__":
    main()
