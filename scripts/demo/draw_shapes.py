"""Synthetic scenes for the demo CLIP: drawn objects on textured, cluttered backgrounds.

Shared by train_demo_clip.py (one object per image, or background only) and
make_synthetic_voc.py (1 to 4 objects, with boxes and occlusion), so the benchmark shows
the objects and backgrounds the model was trained on, only composed differently.

Everything takes a numpy Generator, so a seed fixes every pixel. Images are uint8 RGB
arrays [H, W, 3]; masks are float32 [H, W] in [0, 1].
"""
import math

import cv2
import numpy as np

# Object classes: plain English words, one per line in models/demo_classes.txt.
CLASSES = [
    "circle", "square", "triangle", "star", "cross", "heart", "arrow", "ring",
    "moon", "hexagon", "diamond", "bolt", "spiral", "flower", "seven", "four",
]

# Background kinds and the words a caption may use for each. Together they are the 25
# background words tagclip adds to a class file's vocabulary by default (the reference's
# VOC list), so every one of them means something to the demo model.
BACKGROUND_WORDS = {
    "grass": ["grass", "tree"],
    "sky": ["sky", "cloud"],
    "water": ["water", "lake", "river", "sea", "ocean"],
    "ground": ["ground", "land", "valley"],
    "road": ["road", "street", "railway", "railroad", "bridge"],
    "wall": ["wall", "building", "house"],
    "rock": ["rock", "mountain"],
    "keyboard": ["keyboard", "sign", "helmet"],
}
BACKGROUND_KINDS = list(BACKGROUND_WORDS)

# Object colours with the word a caption uses for them (RGB). Objects are "ink" on pale
# backgrounds: their colour is random but always darker than what lies under them. With
# random colours on random backgrounds (either contrast sign) a small ViT trained on two
# CPU cores stayed at chance after 32,000 images; with one contrast sign it learns.
COLOURS = {
    "red": (190, 30, 30), "green": (30, 125, 45), "blue": (30, 55, 175),
    "purple": (105, 40, 145), "brown": (105, 62, 30), "black": (25, 25, 25),
    "orange": (210, 95, 10), "teal": (10, 115, 115), "pink": (185, 30, 125),
    "gray": (75, 75, 75),
}
COLOUR_NAMES = list(COLOURS)

# Largest rotation in degrees per class: small where a turn would make another class
# (a square turned 45 degrees is a diamond, a turned cross an x, a turned 7 a different glyph).
_MAX_ROTATION = {
    "square": 12, "diamond": 12, "cross": 15, "heart": 25, "bolt": 25, "seven": 20,
    "four": 20, "hexagon": 30,
}
_SUPERSAMPLE = 4


def _polygon(points, n):
    """Points in [-1, 1] (y down) -> int32 pixel coordinates on an n x n canvas."""
    pts = (np.asarray(points, dtype=np.float64) * 0.45 + 0.5) * n
    return np.round(pts).astype(np.int32).reshape(-1, 1, 2)


def _regular(sides, inner=None, phase=-math.pi / 2):
    """Vertices of a regular polygon (or a star when `inner` radius is given)."""
    points = []
    count = sides * (2 if inner else 1)
    for k in range(count):
        angle = phase + 2 * math.pi * k / count
        radius = inner if inner and k % 2 else 1.0
        points.append((radius * math.cos(angle), radius * math.sin(angle)))
    return points


def _shape_canvas(name, n, rng):
    """The class's silhouette on an n x n uint8 canvas (255 inside), centred, unrotated."""
    canvas = np.zeros((n, n), np.uint8)
    c, r = n // 2, int(0.45 * n)
    fill = lambda pts: cv2.fillPoly(canvas, [_polygon(pts, n)], 255, cv2.LINE_AA)
    if name == "circle":
        cv2.circle(canvas, (c, c), r, 255, -1, cv2.LINE_AA)
    elif name == "square":
        fill([(-0.8, -0.8), (0.8, -0.8), (0.8, 0.8), (-0.8, 0.8)])
    elif name == "triangle":
        fill([(0, -1), (0.95, 0.7), (-0.95, 0.7)])
    elif name == "star":
        fill(_regular(5, inner=0.42))
    elif name == "cross":
        t = 0.3
        fill([(-t, -1), (t, -1), (t, -t), (1, -t), (1, t), (t, t), (t, 1), (-t, 1), (-t, t),
              (-1, t), (-1, -t), (-t, -t)])
    elif name == "heart":
        t = np.linspace(0, 2 * math.pi, 120)
        x = 16 * np.sin(t) ** 3
        y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        fill(np.stack([x / 17, (y + 2.5) / 15], 1))
    elif name == "arrow":
        fill([(-1, -0.17), (0.15, -0.17), (0.15, -0.55), (1, 0), (0.15, 0.55), (0.15, 0.17),
              (-1, 0.17)])
    elif name == "ring":
        cv2.circle(canvas, (c, c), r, 255, -1, cv2.LINE_AA)
        cv2.circle(canvas, (c, c), int(r * rng.uniform(0.5, 0.65)), 0, -1, cv2.LINE_AA)
    elif name == "moon":
        cv2.circle(canvas, (c, c), r, 255, -1, cv2.LINE_AA)
        cv2.circle(canvas, (c + int(0.45 * r), c - int(0.2 * r)), int(0.85 * r), 0, -1,
                   cv2.LINE_AA)
    elif name == "hexagon":
        fill(_regular(6, phase=0))
    elif name == "diamond":
        fill([(0, -1), (0.6, 0), (0, 1), (-0.6, 0)])
    elif name == "bolt":
        fill([(0.25, -1), (-0.55, 0.12), (-0.05, 0.12), (-0.3, 1), (0.6, -0.2), (0.1, -0.2),
              (0.45, -1)])
    elif name == "spiral":
        t = np.linspace(0.6, 4.2 * math.pi, 200)
        radius = t / t[-1]
        pts = np.stack([radius * np.cos(t), radius * np.sin(t)], 1)
        cv2.polylines(canvas, [_polygon(pts, n)], False, 255, max(2, int(0.11 * n)),
                      cv2.LINE_AA)
    elif name == "flower":
        petals = int(rng.integers(5, 8))
        for k in range(petals):
            angle = 2 * math.pi * k / petals
            centre = (int(c + 0.5 * r * math.cos(angle)), int(c + 0.5 * r * math.sin(angle)))
            cv2.ellipse(canvas, centre, (int(0.5 * r), int(0.26 * r)), math.degrees(angle), 0,
                        360, 255, -1, cv2.LINE_AA)
        cv2.circle(canvas, (c, c), int(0.18 * r), 0, -1, cv2.LINE_AA)
    elif name in ("seven", "four"):
        glyph = "7" if name == "seven" else "4"
        thickness = max(2, int(n * 0.09))
        font = cv2.FONT_HERSHEY_SIMPLEX
        (w, h), _ = cv2.getTextSize(glyph, font, 1.0, thickness)
        scale = 0.8 * n / max(w, h)
        (w, h), _ = cv2.getTextSize(glyph, font, scale, thickness)
        cv2.putText(canvas, glyph, ((n - w) // 2, (n + h) // 2), font, scale, 255, thickness,
                    cv2.LINE_AA)
    else:
        raise ValueError(f"unknown class {name}")
    return canvas


def mask_bounds(mask, threshold):
    """The box (x0, y0, x1, y1) of the pixels of `mask` [h, w] above `threshold`, ends
    exclusive, or None when no pixel is."""
    ys, xs = np.nonzero(mask > threshold)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def object_mask(name, size, rng):
    """A float32 mask [h, w] of class `name`, rotated and stretched at random, whose longer
    side is `size` pixels (drawn 4x larger and shrunk, for smooth edges)."""
    n = max(32, int(size * _SUPERSAMPLE * 1.1))
    canvas = _shape_canvas(name, n, rng)
    limit = _MAX_ROTATION.get(name, 180)
    angle = rng.uniform(-limit, limit)
    stretch = rng.uniform(0.85, 1.15)
    matrix = cv2.getRotationMatrix2D((n / 2, n / 2), angle, 1.0)
    matrix[0, :] *= stretch  # horizontal stretch after the turn
    matrix[0, 2] += n / 2 * (1 - stretch)
    canvas = cv2.warpAffine(canvas, matrix, (n, n), flags=cv2.INTER_LINEAR)
    x0, y0, x1, y1 = mask_bounds(canvas, 127)  # a drawn shape always has pixels
    canvas = canvas[y0:y1, x0:x1]
    h, w = canvas.shape
    scale = size / max(h, w)
    out_w, out_h = max(3, round(w * scale)), max(3, round(h * scale))
    mask = cv2.resize(canvas, (out_w, out_h), interpolation=cv2.INTER_AREA)
    return mask.astype(np.float32) / 255.0


def _jitter(colour, rng, amount=25):
    return np.clip(np.asarray(colour, np.float32) + rng.uniform(-amount, amount, 3), 0, 255)


def object_fill(h, w, colour_name, rng):
    """The paint of an object [h, w, 3] float32: its colour, sometimes patterned with a
    second colour (stripes, dots, checks or a gradient)."""
    base = _jitter(COLOURS[colour_name], rng, 20)
    paint = np.empty((h, w, 3), np.float32)
    paint[:] = base
    style = rng.choice(["solid", "solid", "solid", "stripes", "dots", "checks", "gradient"])
    if style == "solid":
        return paint
    other = np.clip(base * rng.uniform(0.4, 0.7) + rng.uniform(0, 25), 0, 255)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    period = rng.uniform(3, 8)
    if style == "stripes":
        angle = rng.uniform(0, math.pi)
        select = np.sin((xx * math.cos(angle) + yy * math.sin(angle)) * math.pi / period) > 0
    elif style == "dots":
        select = (np.sin(xx * math.pi / period) * np.sin(yy * math.pi / period)) > 0.55
    elif style == "checks":
        select = ((xx // period + yy // period) % 2) == 0
    else:
        t = (yy / max(1, h - 1))[..., None]
        return paint * (1 - t) + other * t
    paint[select] = other
    return paint


def paste(image, paint, mask, x, y, outline=None):
    """Alpha-blends `paint` through `mask` onto float32 `image` at (x, y), with an optional
    dark or light outline of `outline` = (colour, width) first. Returns the visible mask
    contribution [h, w] (for occlusion bookkeeping)."""
    h, w = mask.shape
    if outline is not None:
        colour, width = outline
        kernel = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
        padded = cv2.copyMakeBorder(mask, width, width, width, width, cv2.BORDER_CONSTANT, 0)
        ring = cv2.dilate(padded, kernel)
        y0, x0 = y - width, x - width
        _blend(image, np.full(ring.shape + (3,), colour, np.float32), ring, x0, y0)
    _blend(image, paint, mask, x, y)
    return mask


def _blend(image, paint, mask, x, y):
    H, W = image.shape[:2]
    h, w = mask.shape
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x0 >= x1 or y0 >= y1:
        return
    m = mask[y0 - y:y1 - y, x0 - x:x1 - x, None]
    image[y0:y1, x0:x1] = image[y0:y1, x0:x1] * (1 - m) + paint[y0 - y:y1 - y, x0 - x:x1 - x] * m


def _smooth_noise(h, w, rng, scale):
    """Smooth random field in [0, 1], features about `scale` pixels across."""
    small = rng.random((max(2, int(h / scale) + 2), max(2, int(w / scale) + 2))).astype(np.float32)
    field = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(field, 0, 1)


def background(kind, h, w, rng):
    """A background of `kind` (one of BACKGROUND_KINDS, or "plain") as float32 [h, w, 3],
    washed out towards white so that every object stands out darker."""
    image = _background(kind, h, w, rng)
    return 255 - (255 - image) * rng.uniform(0.3, 0.55)


def _background(kind, h, w, rng):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    if kind == "grass":
        img[:] = _jitter((70, 140, 50), rng, 30)
        img *= (0.75 + 0.5 * _smooth_noise(h, w, rng, 40))[..., None]
        # Blades: sparse random dots smeared upward.
        blades = (rng.random((h, w)) < 0.08).astype(np.float32) * rng.uniform(-1, 1, (h, w))
        blades = cv2.filter2D(blades, -1, np.ones((7, 1), np.float32) / 3)
        img *= (1 + 0.35 * np.clip(blades, -1, 1))[..., None]
    elif kind == "sky":
        top, bottom = _jitter((70, 120, 210), rng, 30), _jitter((170, 205, 245), rng, 20)
        t = (yy / h)[..., None]
        img[:] = top * (1 - t) + bottom * t
        clouds = np.zeros((h, w), np.float32)
        for _ in range(int(rng.integers(1, 6))):
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            for _ in range(int(rng.integers(3, 7))):
                cv2.ellipse(clouds, (int(cx + rng.normal(0, 15)), int(cy + rng.normal(0, 5))),
                            (int(rng.uniform(8, 25)), int(rng.uniform(5, 12))), 0, 0, 360, 1, -1)
        clouds = cv2.GaussianBlur(clouds, (0, 0), 3)[..., None]
        img = img * (1 - 0.9 * clouds) + 245 * 0.9 * clouds
    elif kind == "water":
        img[:] = _jitter((40, 100, 160), rng, 30)
        phase = rng.uniform(0, 2 * math.pi)
        period = rng.uniform(6, 14)
        waves = np.sin(yy * 2 * math.pi / period + 0.6 * np.sin(xx / rng.uniform(8, 20) + phase))
        img *= (0.85 + 0.2 * waves)[..., None]
        img += 30 * (waves > 0.92)[..., None]
    elif kind == "ground":
        img[:] = _jitter((150, 110, 70), rng, 30)
        img *= (0.7 + 0.5 * _smooth_noise(h, w, rng, 25))[..., None]
        img *= (0.85 + 0.3 * rng.random((h, w), np.float32))[..., None]
    elif kind == "road":
        img[:] = _jitter((90, 90, 92), rng, 20)
        img *= (0.85 + 0.3 * rng.random((h, w), np.float32))[..., None]
        vertical = rng.random() < 0.5
        for _ in range(int(rng.integers(1, 3))):
            pos = int(rng.uniform(0.2, 0.8) * (w if vertical else h))
            colour = (235, 235, 235) if rng.random() < 0.6 else (230, 190, 40)
            dash = int(rng.integers(8, 20))
            for start in range(0, h if vertical else w, 2 * dash):
                a, b = (pos, start), (pos, start + dash)
                if not vertical:
                    a, b = a[::-1], b[::-1]
                cv2.line(img, a, b, colour, int(rng.integers(2, 4)))
    elif kind == "wall":
        brick = _jitter(COLOURS["brown"] if rng.random() < 0.6 else (170, 160, 150), rng, 35)
        mortar = _jitter((200, 195, 185), rng, 20)
        img[:] = mortar
        bh, bw = int(rng.integers(8, 14)), int(rng.integers(18, 30))
        for row, y in enumerate(range(-bh, h, bh)):
            offset = (bw // 2) * (row % 2)
            for x in range(-bw, w, bw):
                shade = brick * rng.uniform(0.85, 1.15)
                cv2.rectangle(img, (x + offset + 1, y + 1), (x + offset + bw - 2, y + bh - 2),
                              shade.tolist(), -1)
    elif kind == "rock":
        img[:] = _jitter((120, 115, 105), rng, 25)
        blotches = _smooth_noise(h, w, rng, 18)
        img *= (0.6 + 0.7 * blotches)[..., None]
        cracks = (np.abs(_smooth_noise(h, w, rng, 30) - 0.5) < 0.02)
        img[cracks] *= 0.5
    elif kind == "keyboard":
        img[:] = _jitter((45, 45, 50), rng, 15)
        key = int(rng.integers(9, 15))
        cap = _jitter((205, 205, 210), rng, 30)
        for y in range(2, h, key):
            for x in range(2 + (y // key) % 2 * key // 3, w, key):
                cv2.rectangle(img, (x, y), (x + key - 3, y + key - 3), cap.tolist(), -1)
                if rng.random() < 0.5:
                    cv2.putText(img, chr(int(rng.integers(65, 91))), (x + 1, y + key - 5),
                                cv2.FONT_HERSHEY_PLAIN, key / 18, (40, 40, 40), 1)
    elif kind == "plain":
        a, b = _jitter(rng.uniform(0, 255, 3), rng, 0), _jitter(rng.uniform(0, 255, 3), rng, 0)
        t = (xx / w * rng.uniform(-1, 1) + yy / h * rng.uniform(-1, 1))[..., None]
        t = (t - t.min()) / max(1e-6, float(t.max() - t.min()))
        img[:] = a * (1 - t) + b * t
        img += rng.normal(0, 6, (h, w, 1)).astype(np.float32)
    else:
        raise ValueError(f"unknown background {kind}")
    return np.clip(img, 0, 255)


def two_part_background(h, w, rng, kinds=None, with_mask=False):
    """Two background kinds split by a slanted horizon, like sky over grass. Returns the
    image and the kinds used, and with `with_mask` also where the second kind is [h, w]."""
    if kinds is None:
        kinds = list(rng.choice(BACKGROUND_KINDS, 2, replace=False))
    top, bottom = background(kinds[0], h, w, rng), background(kinds[1], h, w, rng)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    horizon = rng.uniform(0.3, 0.7) * h + (xx - w / 2) * rng.uniform(-0.3, 0.3)
    below = (yy > horizon).astype(np.float32)[..., None]
    image = top * (1 - below) + bottom * below
    return (image, kinds, below[..., 0] > 0) if with_mask else (image, kinds)


def clutter(image, rng, count):
    """Draws `count` small distractors (thin lines, dots, short scribbles) that are none of
    the classes, so the model must learn shapes rather than 'anything on the background'."""
    h, w = image.shape[:2]
    for _ in range(count):
        colour = rng.uniform(70, 210, 3).tolist()
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        kind = rng.integers(0, 3)
        if kind == 0:
            length, angle = rng.uniform(5, 25), rng.uniform(0, 2 * math.pi)
            cv2.line(image, (x, y), (int(x + length * math.cos(angle)),
                                     int(y + length * math.sin(angle))), colour, 1, cv2.LINE_AA)
        elif kind == 1:
            cv2.circle(image, (x, y), int(rng.integers(1, 4)), colour, -1, cv2.LINE_AA)
        else:
            pts = np.cumsum(rng.normal(0, 4, (5, 2)), 0) + (x, y)
            cv2.polylines(image, [pts.astype(np.int32).reshape(-1, 1, 2)], False, colour, 1,
                          cv2.LINE_AA)


def paint_object(image, mask, x, y, rng, colour_name=None):
    """Paints an object whose silhouette is `mask` (from object_mask) with its top-left
    corner at (x, y), in `colour_name` (random when None), usually with a dark outline.
    Returns (its mask on the whole image [H, W], colour name)."""
    h, w = mask.shape
    H, W = image.shape[:2]
    if colour_name is None:
        colour_name = COLOUR_NAMES[int(rng.integers(len(COLOUR_NAMES)))]
    paint = object_fill(h, w, colour_name, rng)
    outline = None
    if rng.random() < 0.7:
        outline = ((15, 15, 15), int(rng.integers(1, 3)))
    paste(image, paint, mask, x, y, outline)
    full = np.zeros((H, W), np.float32)
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    full[y0:y1, x0:x1] = mask[y0 - y:y1 - y, x0 - x:x1 - x]
    return full, colour_name


def finish(image, rng, blur_chance=0.15):
    """Sensor-like finish: occasional blur, light noise; returns uint8 RGB."""
    if rng.random() < blur_chance:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 1.2))
    image = image + rng.normal(0, rng.uniform(0, 5), image.shape).astype(np.float32)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def training_scene(rng, size, object_chance=0.85, extra_chance=0.0):
    """One training image [size, size, 3] uint8 and what it shows: a dict with "kind"
    ("object" or "background"), "label" (class name or background kind; for scenes with
    extra objects, the largest one: captions name only it, as web captions name the main
    subject), for objects "colour" and "scale" ("small", "large" or None) and "objects"
    (list of (class name, mask [size, size]) for every object drawn), and "background_map"
    [size, size] int8 (index in BACKGROUND_KINDS, -1 for "plain").

    With probability `extra_chance` one or two smaller objects of other classes join the
    main one (each at most 80% of its size, overlapping it or each other by under 10%)."""
    if rng.random() < 0.25:
        image, kinds, below = two_part_background(size, size, rng, with_mask=True)
        kind = None
        background_map = np.where(below, BACKGROUND_KINDS.index(kinds[1]),
                                  BACKGROUND_KINDS.index(kinds[0])).astype(np.int8)
    else:
        kind = BACKGROUND_KINDS[int(rng.integers(len(BACKGROUND_KINDS)))]
        if rng.random() < 0.2:
            kind = "plain"
        image = background(kind, size, size, rng)
        index = BACKGROUND_KINDS.index(kind) if kind != "plain" else -1
        background_map = np.full((size, size), index, np.int8)
    clutter(image, rng, int(rng.integers(0, 10)))
    if kind is not None and kind != "plain" and rng.random() > object_chance:
        return finish(image, rng), {"kind": "background", "label": kind, "objects": [],
                                    "background_map": background_map}
    name = CLASSES[int(rng.integers(len(CLASSES)))]
    # Log-uniform sizes from 16 px to 90% of the canvas: small objects as often as large.
    object_size = int(round(math.exp(rng.uniform(math.log(16), math.log(0.9 * size)))))
    mask = object_mask(name, object_size, rng)
    h, w = mask.shape
    x = int(rng.integers(0, max(1, size - w + 1)))
    y = int(rng.integers(0, max(1, size - h + 1)))
    full, colour = paint_object(image, mask, x, y, rng)
    objects = [(name, full)]
    if extra_chance > 0 and object_size >= 28 and rng.random() < extra_chance:
        others = [c for c in CLASSES if c != name]
        for _ in range(int(rng.integers(1, 3))):
            other = others.pop(int(rng.integers(len(others))))
            extra_size = max(16, int(object_size * rng.uniform(0.35, 0.8)))
            extra = object_mask(other, extra_size, rng)
            eh, ew = extra.shape
            for _ in range(10):
                ex = int(rng.integers(0, max(1, size - ew + 1)))
                ey = int(rng.integers(0, max(1, size - eh + 1)))
                placed = np.zeros((size, size), np.float32)
                placed[ey:ey + eh, ex:ex + ew] = extra[:size - ey, :size - ex]
                if all(np.minimum(m, placed).sum() < 0.1 * min(m.sum(), placed.sum())
                       for _, m in objects):
                    extra_full, _ = paint_object(image, extra, ex, ey, rng)
                    objects.append((other, extra_full))
                    break
    scale = "small" if object_size < 0.25 * size else "large" if object_size > 0.6 * size else None
    return finish(image, rng), {"kind": "object", "label": name, "colour": colour, "scale": scale,
                                "objects": objects, "background_map": background_map}


def zoom_on_main_object(image, info, rng, margin=(-0.1, 0.4), least_side=8):
    """A training_scene() image [S, S, 3] and record cut to a box around its main object and
    stretched back to S x S, bilinearly: the close-up, blurred by the enlargement and often
    stretched out of shape, that TagCLIP's reidentification step shows the class token (a
    box around a class's map, resized to the input size). Each side of the object's
    bounding box moves out by a share of the box's extent drawn from `margin` (negative:
    in, cutting the object), within the image. Returns the new image and record: object
    masks resized alike (objects left with no pixel dropped), background map by nearest
    neighbour, "scale" None (a caption no longer says how large the object looks)."""
    size = image.shape[0]
    bounds = mask_bounds(info["objects"][0][1], 0.5)
    if bounds is None:
        return image, info
    x0, y0, x1, y1 = bounds
    low, high = margin
    w, h = x1 - x0, y1 - y0
    box = [x0 - rng.uniform(low, high) * w, y0 - rng.uniform(low, high) * h,
           x1 + rng.uniform(low, high) * w, y1 + rng.uniform(low, high) * h]
    x0, y0 = (int(np.clip(round(v), 0, size - least_side)) for v in box[:2])
    x1 = int(np.clip(round(box[2]), x0 + least_side, size))
    y1 = int(np.clip(round(box[3]), y0 + least_side, size))

    def stretch(array, interpolation):  # [y0:y1, x0:x1] -> [S, S]
        return cv2.resize(np.ascontiguousarray(array[y0:y1, x0:x1]), (size, size),
                          interpolation=interpolation)

    objects = [(name, stretch(mask, cv2.INTER_LINEAR)) for name, mask in info["objects"]]
    zoomed = dict(info, scale=None, objects=[o for o in objects if o[1].max() > 0],
                  background_map=stretch(info["background_map"], cv2.INTER_NEAREST))
    return stretch(image, cv2.INTER_LINEAR), zoomed


def benchmark_scene(rng, size=224, count=None, min_visible=0.6):
    """A multi-object scene [size, size, 3] uint8 and its objects: dicts with "name",
    "box" (x0, y0, x1, y1 inclusive pixel bounds of the visible part), "visible" (fraction
    of the object not covered by later objects), "truncated" and "coverage" (float32
    [size, size] in 0..1: how much of each pixel shows this object; anti-aliased edges are
    fractional). Objects are 1 to 4
    distinct classes of mixed sizes; later objects may cover up to 1 - min_visible of
    earlier ones."""
    if count is None:
        count = int(rng.integers(1, 5))
    if rng.random() < 0.5:
        image, _ = two_part_background(size, size, rng)
    else:
        image = background(BACKGROUND_KINDS[int(rng.integers(len(BACKGROUND_KINDS)))], size,
                           size, rng)
    clutter(image, rng, int(rng.integers(0, 12)))
    names = [CLASSES[i] for i in rng.choice(len(CLASSES), count, replace=False)]
    masks = []  # full-image masks of objects placed so far, in drawing order
    placed = []
    for name in names:
        band = rng.choice(["small", "medium", "large"], p=[0.4, 0.35, 0.25])
        low, high = {"small": (22, 40), "medium": (40, 72), "large": (72, 120)}[band]
        object_size = int(rng.integers(low, high + 1))
        probe = object_mask(name, object_size, rng)
        h, w = probe.shape
        for _ in range(30):
            x = int(rng.integers(-w // 6, size - w + w // 6 + 1))
            y = int(rng.integers(-h // 6, size - h + h // 6 + 1))
            candidate = np.zeros((size, size), np.float32)
            x0, y0, x1, y1 = max(0, x), max(0, y), min(size, x + w), min(size, y + h)
            candidate[y0:y1, x0:x1] = probe[y0 - y:y1 - y, x0 - x:x1 - x]
            # Every earlier object must keep min_visible of its area, and this one must
            # lie mostly inside the image.
            if candidate.sum() < 0.8 * probe.sum():
                continue
            ok = True
            for other in masks:
                covered = np.minimum(other, candidate).sum()
                if covered > (1 - min_visible) * other.sum():
                    ok = False
                    break
            if ok:
                break
        else:
            continue
        full, colour = paint_object(image, probe, x, y, rng)
        masks = [np.clip(m - full, 0, 1) for m in masks]
        masks.append(full)
        placed.append({"name": name, "colour": colour, "size": object_size,
                       "truncated": x < 0 or y < 0 or x + w > size or y + h > size,
                       "area": float(full.sum())})
    objects = []
    for info, visible in zip(placed, masks):
        bounds = mask_bounds(visible, 0.5)
        if bounds is None:  # covered whole by later objects
            continue
        info = dict(info)
        info["visible"] = float(visible.sum() / max(1e-6, info.pop("area")))
        x0, y0, x1, y1 = bounds
        info["box"] = (x0, y0, x1 - 1, y1 - 1)  # inclusive, as VOC's boxes
        info["coverage"] = visible
        objects.append(info)
    return finish(image, rng, blur_chance=0.1), objects
