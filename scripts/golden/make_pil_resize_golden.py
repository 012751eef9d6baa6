#!/usr/bin/python3
"""Regenerates the Pillow goldens that tests/test_pil_resize.cpp and tests/test_preprocess.cpp
compare against.

The reference implementation resizes with torchvision's Resize((h, w), BICUBIC) on a PIL
image, i.e. Pillow's Image.resize(..., BICUBIC), then applies ToTensor and Normalize with
CLIP's statistics. This script runs exactly those library calls on the committed inputs and
writes:

  tests/data/pil_resize_golden/<case>.input.png     synthetic inputs (photos live in images/)
  tests/data/pil_resize_golden/<case>.expected.png  Pillow's resize output (PNG is lossless)
  tests/data/pil_resize_golden/<case>.f32           preprocess output, raw little-endian
                                                    float32 in (1, 3, H, W) order
  tests/data/pil_resize_golden/cases.json           the manifest the C++ tests read

With --make-inputs it also (re)creates the small test images in tests/data/images/, the
photos from Debian's opencv-doc samples (apt-get install opencv-doc).

Run with Debian's interpreter (Pillow 9.4, torchvision 0.14):
  /usr/bin/python3 scripts/golden/make_pil_resize_golden.py [--make-inputs]
"""

import argparse
import json
import os
import sys

import numpy as np
import PIL
import torch
from PIL import Image
from torchvision import transforms

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(REPO, "tests", "data")
IMAGES = os.path.join(DATA, "images")
GOLDEN = os.path.join(DATA, "pil_resize_golden")
OPENCV_SAMPLES = "/usr/share/doc/opencv-doc/examples/data"

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# (committed name, opencv sample, width after downscaling)
PHOTOS = [
    ("fruits.jpg", "fruits.jpg", 250),
    ("squirrel.jpg", "squirrel_cls.jpg", 250),
    ("messi.jpg", "messi5.jpg", 250),
    ("squirrel_small.jpg", "squirrel_cls.jpg", 61),
]


# ---------------------------------------------------------------- synthetic inputs


def noise(rng, h, w):
    return rng.randint(0, 256, (h, w, 3), dtype=np.uint8)


def smooth_pattern(h, w):
    """Sinusoids plus sharp-edged shapes; compresses well yet exercises every filter tap."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 127.5 + 127.5 * np.sin(x / 7.0) * np.cos(y / 11.0)
    g = 255.0 * ((x + 2 * y) % 64 < 32)
    b = 255.0 * (x / max(w - 1, 1))
    img = np.stack([r, g, b], axis=2)
    img[h // 4: h // 2, w // 3: w // 2] = (255, 0, 255)
    img[(x - 0.7 * y) ** 2 < 40] = (0, 0, 0)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def checkerboard(h, w, cell):
    y, x = np.mgrid[0:h, 0:w]
    on = ((x // cell + y // cell) % 2).astype(np.uint8) * 255
    return np.stack([on, 255 - on, np.full_like(on, 128)], axis=2)


def hard_edges(h, w):
    img = np.zeros((h, w, 3), np.uint8)
    colours = [(0, 0, 0), (255, 255, 255), (255, 0, 0), (0, 0, 255), (255, 255, 255), (0, 255, 0)]
    for i, colour in enumerate(colours):
        img[:, i * w // len(colours): (i + 1) * w // len(colours)] = colour
    img[h // 2:, :] = 255 - img[h // 2:, :]
    return img


def synthetic_cases():
    """(name, input array, out_height, out_width); gray inputs are 2-D arrays."""
    rng = np.random.RandomState(20240601)
    return [
        ("upscale_23x37_to_80x112", noise(rng, 23, 37), 80, 112),
        ("downscale_375x500_to_64x96", smooth_pattern(375, 500), 64, 96),
        ("width_up_height_down_90x40_to_30x120", noise(rng, 90, 40), 30, 120),
        ("width_down_height_up_20x90_to_64x30", noise(rng, 20, 90), 64, 30),
        ("row_1x50_to_16x64", noise(rng, 1, 50), 16, 64),
        ("column_50x1_to_64x16", noise(rng, 50, 1), 64, 16),
        ("row_1x200_to_1x37", noise(rng, 1, 200), 1, 37),
        ("aligned_32x48_noop", noise(rng, 32, 48), 32, 48),
        ("height_only_33x48_to_48x48", noise(rng, 33, 48), 48, 48),
        ("width_only_48x33_to_48x48", noise(rng, 48, 33), 48, 48),
        ("odd_17x33_to_32x48", noise(rng, 17, 33), 32, 48),
        ("checker1_24x24_to_13x17", checkerboard(24, 24, 1), 13, 17),
        ("checker1_24x24_to_64x64", checkerboard(24, 24, 1), 64, 64),
        ("checker3_30x30_to_7x5", checkerboard(30, 30, 3), 7, 5),
        ("hard_edges_20x30_to_64x96", hard_edges(20, 30), 64, 96),
        ("tiny_2x3_to_48x32", noise(rng, 2, 3), 48, 32),
        ("gray_hard_edges_20x30_to_37x19", hard_edges(20, 30)[:, :, 1], 37, 19),
    ]


# ---------------------------------------------------------------- reference pipeline


def load_like_reference(path):
    """Image.open + np.array; a 2-D array is stacked to three channels, as the reference does."""
    image = Image.open(path)
    pixels = np.array(image)
    if pixels.ndim == 2:
        image = Image.fromarray(np.uint8(np.stack([pixels] * 3, axis=2)))
    return image


def reference_tensor(image, patch_size):
    height = int(np.ceil(image.height / patch_size) * patch_size)
    width = int(np.ceil(image.width / patch_size) * patch_size)
    pipeline = transforms.Compose([
        transforms.Resize((height, width), interpolation=transforms.InterpolationMode.BICUBIC),
        lambda im: im.convert("RGB"),
        transforms.ToTensor(),
        transforms.Normalize(CLIP_MEAN, CLIP_STD),
    ])
    return pipeline(image).unsqueeze(0)


# ---------------------------------------------------------------- writers


def make_inputs():
    os.makedirs(IMAGES, exist_ok=True)
    if not os.path.isdir(OPENCV_SAMPLES):
        sys.exit(f"{OPENCV_SAMPLES} is missing: apt-get install opencv-doc")
    for name, sample, width in PHOTOS:
        photo = Image.open(os.path.join(OPENCV_SAMPLES, sample)).convert("RGB")
        height = round(photo.height * width / photo.width)
        photo.resize((width, height), Image.LANCZOS).save(os.path.join(IMAGES, name), quality=90)

    y, x = np.mgrid[0:12, 0:20]
    gray = (x * 12 + y * 5).astype(np.uint8)
    Image.fromarray(gray, "L").save(os.path.join(IMAGES, "gray.png"))

    # Palette: four colours, so the indices (0..3) differ visibly from the colours.
    quadrants = np.zeros((12, 20, 3), np.uint8)
    quadrants[:6, :10], quadrants[:6, 10:] = (200, 30, 40), (10, 220, 90)
    quadrants[6:, :10], quadrants[6:, 10:] = (250, 250, 250), (20, 20, 160)
    palette = Image.fromarray(quadrants).quantize(colors=4)
    palette.save(os.path.join(IMAGES, "palette.png"))

    rgba = np.concatenate([quadrants, (x * 13).astype(np.uint8)[:, :, None]], axis=2)
    Image.fromarray(rgba, "RGBA").save(os.path.join(IMAGES, "rgba.png"))

    # 16-bit samples: Pillow opens gray as mode "I" and RGB as 8-bit RGB (high byte).
    gray16 = (x * 3000 + y * 400 + 77).astype(np.uint16)
    Image.fromarray(gray16.astype(np.int32), "I").convert("I;16").save(
        os.path.join(IMAGES, "gray16.png"))
    import cv2  # Pillow cannot write 16-bit RGB PNGs
    rgb16 = np.stack([gray16, 65535 - gray16, gray16 // 3], axis=2)
    cv2.imwrite(os.path.join(IMAGES, "rgb16.png"), rgb16[:, :, ::-1].copy())

    # Floats are read as 0..1; the corners go out of range to test saturation.
    float_gray = (x[:6, :8] / 7.0 * (y[:6, :8] + 1) / 6.0).astype(np.float32)
    float_gray[0, 0], float_gray[5, 7] = -0.25, 1.5
    cv2.imwrite(os.path.join(IMAGES, "float32.tiff"), float_gray)

    # EXIF Orientation 6 ("rotate 90 clockwise to display") on a 24x16 image of quadrants.
    exif_pixels = np.zeros((16, 24, 3), np.uint8)
    exif_pixels[:8, :12], exif_pixels[:8, 12:] = (255, 0, 0), (0, 255, 0)
    exif_pixels[8:, :12], exif_pixels[8:, 12:] = (0, 0, 255), (255, 255, 0)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(exif_pixels).save(os.path.join(IMAGES, "exif_orientation6.jpg"), quality=95,
                                      exif=exif.tobytes())

    with open(os.path.join(IMAGES, "squirrel_small.jpg"), "rb") as f:
        whole = f.read()
    with open(os.path.join(IMAGES, "truncated.jpg"), "wb") as f:
        f.write(whole[: len(whole) * 6 // 10])
    open(os.path.join(IMAGES, "empty.jpg"), "wb").close()
    with open(os.path.join(IMAGES, "not_an_image.png"), "w") as f:
        f.write("This is a text file with an image extension.\n")


def save_array(array, path):
    Image.fromarray(array, "L" if array.ndim == 2 else "RGB").save(path)


def make_goldens():
    os.makedirs(GOLDEN, exist_ok=True)
    resize_cases = []

    def add_resize(name, input_rel, image, out_height, out_width):
        expected = image.resize((out_width, out_height), Image.BICUBIC)
        save_array(np.array(expected), os.path.join(GOLDEN, name + ".expected.png"))
        resize_cases.append({
            "name": name, "input": input_rel, "gray": image.mode == "L",
            "out_height": out_height, "out_width": out_width,
            "expected": f"pil_resize_golden/{name}.expected.png",
        })

    for name, _, _ in PHOTOS[:3]:
        image = load_like_reference(os.path.join(IMAGES, name))
        stem = os.path.splitext(name)[0]
        aligned = (int(np.ceil(image.height / 16) * 16), int(np.ceil(image.width / 16) * 16))
        add_resize(f"photo_{stem}_{image.height}x{image.width}_to_{aligned[0]}x{aligned[1]}",
                   f"images/{name}", image, *aligned)
    fruits = load_like_reference(os.path.join(IMAGES, "fruits.jpg"))
    add_resize(f"photo_fruits_{fruits.height}x{fruits.width}_to_40x24", "images/fruits.jpg", fruits,
               40, 24)

    for name, array, out_height, out_width in synthetic_cases():
        save_array(array, os.path.join(GOLDEN, name + ".input.png"))
        add_resize(name, f"pil_resize_golden/{name}.input.png", Image.fromarray(array),
                   out_height, out_width)

    preprocess_cases = []
    for name, input_rel in [("preprocess_squirrel_small", "images/squirrel_small.jpg"),
                            ("preprocess_gray", "images/gray.png"),
                            ("preprocess_aligned_noop",
                             "pil_resize_golden/aligned_32x48_noop.input.png")]:
        tensor = reference_tensor(load_like_reference(os.path.join(DATA, input_rel)), 16)
        tensor.numpy().astype("<f4").tofile(os.path.join(GOLDEN, name + ".f32"))
        preprocess_cases.append({"name": name, "input": input_rel, "patch_size": 16,
                                 "shape": list(tensor.shape),
                                 "expected": f"pil_resize_golden/{name}.f32"})

    manifest = {
        "generator": "scripts/golden/make_pil_resize_golden.py",
        "pillow": PIL.__version__,
        "torch": torch.__version__,
        "resize": resize_cases,
        "preprocess": preprocess_cases,
    }
    with open(os.path.join(GOLDEN, "cases.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--make-inputs", action="store_true",
                        help="also recreate tests/data/images (needs opencv-doc)")
    args = parser.parse_args()
    if args.make_inputs:
        make_inputs()
    make_goldens()


if __name__ == "__main__":
    main()
