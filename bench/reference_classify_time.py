#!/usr/bin/env python3
"""Per-image time of the authors' classify.py (text encoding excluded) on a folder of JPEGs,
for bench/compare_tag.sh. Imports their code from --reference and only calls it: their
classify() runs as written; the text-encoding call is wrapped to time and subtract it."""
import argparse
import os
import sys
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--images", required=True, help="folder of <id>.jpg")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--device", default="cpu",
                        help="cpu or cuda; on cuda clip.load keeps OpenAI's float16 weights, "
                        "as the authors' classify.py does on a GPU")
    parser.add_argument("--flush-denormal", action="store_true",
                        help="torch.set_flush_denormal(True) first (tagclip does this itself)")
    parser.add_argument("--text-cache", help="keep the class embeddings in this file: their "
                        "time is excluded anyway, and a run at several sizes pays it once")
    args = parser.parse_args()
    # Still right after the chdir below.
    args.reference, args.model, args.images = (os.path.abspath(p) for p in
                                                (args.reference, args.model, args.images))
    if args.text_cache:
        args.text_cache = os.path.abspath(args.text_cache)
    sys.path.insert(0, args.reference)
    os.chdir(args.reference)  # classify.py imports its siblings
    import torch
    import clip
    import classify as reference

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.flush_denormal:
        torch.set_flush_denormal(True)
    ids = sorted(f[:-4] for f in os.listdir(args.images) if f.endswith(".jpg"))
    # The module-level setup classify.py's __main__ does for --dataset voc2007.
    reference.args = argparse.Namespace(dataset="voc2007", img_root=args.images,
                                        split_file="", model_path=args.model, save_file=False)
    reference.class_names = reference.class_names_voc + reference.BACKGROUND_CATEGORY_VOC
    reference.NUM_CLASSES = len(reference.class_names_voc)
    reference.image_list = [i + ".jpg" for i in ids]
    reference.all_label_list = [["0"] for _ in ids]
    reference.model_type = "clip"
    reference.device = args.device
    reference.model, _ = clip.load(args.model, device=args.device)
    reference.model.eval()

    text_seconds = []
    encode = clip.encode_text_with_prompt_ensemble

    def timed_encode(*a, **k):
        start = time.perf_counter()
        if args.text_cache and os.path.exists(args.text_cache):
            out = torch.load(args.text_cache)
        else:
            out = encode(*a, **k)
            if args.text_cache:
                torch.save(out, args.text_cache)
        text_seconds.append(time.perf_counter() - start)
        return out

    clip.encode_text_with_prompt_ensemble = timed_encode
    start = time.perf_counter()
    reference.classify()
    if args.device != "cpu":
        torch.cuda.synchronize()
    total = time.perf_counter() - start
    per_image = (total - sum(text_seconds)) / len(ids)
    print(f"reference per image: {per_image * 1e3:.1f} ms ({len(ids)} images, "
          f"text encoding {sum(text_seconds):.1f} s excluded, {args.device}, "
          f"threads {torch.get_num_threads()}"
          f"{', denormals flushed' if args.flush_denormal else ''})")


if __name__ == "__main__":
    main()
