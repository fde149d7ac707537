#!/usr/bin/env python3
"""Finds a reference rendering of TEXT in a screenshot: whether a screen drew those characters as
glyphs (a box for a missing glyph does not look like them).

    glyph-match.py SCREEN.ppm TEXT FONT_FILE FACE_INDEX

The reference is each character of TEXT drawn by hb-view (HarfBuzz) with the font the screen
should use, at every pixel size from 20 to 30; each is searched for across the whole screenshot by
normalised cross-correlation (dark text on light or light on dark alike). Prints one line,
`best=0.912 身=0.950@26(556,307) …` (the weakest character's score first, then each
character's score, pixel size and place), and exits 0; exits 2 on unreadable input. Needs numpy.
"""
import os
import subprocess
import struct
import sys
import tempfile
import zlib

import numpy as np


def read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    fields, i = [], 0
    while len(fields) < 4:
        while data[i:i + 1].isspace():
            i += 1
        if data[i:i + 1] == b"#":
            i = data.index(b"\n", i)
            continue
        j = i
        while not data[j:j + 1].isspace():
            j += 1
        fields.append(data[i:j])
        i = j
    if fields[0] != b"P6" or int(fields[3]) != 255:
        raise ValueError(f"{path}: not an 8-bit binary PPM")
    width, height = int(fields[1]), int(fields[2])
    pixels = np.frombuffer(data[i + 1:i + 1 + width * height * 3], dtype=np.uint8).reshape(height, width, 3)
    return pixels.astype(np.float64).mean(axis=2)


def read_png(path):
    """8-bit greyscale, grey+alpha, RGB or RGBA, not interlaced: what hb-view writes."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        raise ValueError(f"{path}: PNG depth {depth}, colour type {colour}, interlace {interlace} not read here")
    raw, stride = zlib.decompress(idat), width * channels
    out = np.zeros((height, stride), dtype=np.int32)
    previous = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=y * (stride + 1) + 1).astype(np.int32)
        row = np.zeros(stride, dtype=np.int32)
        for x in range(stride):
            a = row[x - channels] if x >= channels else 0
            b = previous[x]
            c = previous[x - channels] if x >= channels else 0
            if kind == 0:
                p = 0
            elif kind == 1:
                p = a
            elif kind == 2:
                p = b
            elif kind == 3:
                p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            row[x] = (line[x] + p) & 0xFF
        out[y], previous = row, row
    pixels = out.reshape(height, width, channels).astype(np.float64)
    grey = pixels[:, :, :3].mean(axis=2) if channels >= 3 else pixels[:, :, 0]
    if channels in (2, 4):  # over white
        alpha = pixels[:, :, -1] / 255.0
        grey = grey * alpha + 255.0 * (1 - alpha)
    return grey


def ink_box(image):
    rows = np.where((image < 160).any(axis=1))[0]
    cols = np.where((image < 160).any(axis=0))[0]
    if len(rows) == 0:
        return None
    return image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


class Screen:
    """A screenshot prepared once for many templates: its spectrum (padded for templates up to
    PAD pixels a side) and its integral images."""

    PAD = 64

    def __init__(self, pixels):
        self.pixels = pixels
        H, W = pixels.shape
        self.shape = (H + self.PAD, W + self.PAD)
        self.spectrum = np.fft.rfft2(pixels, self.shape)
        self.integral = np.pad(pixels, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
        self.integral2 = np.pad(pixels * pixels, ((1, 0), (1, 0))).cumsum(0).cumsum(1)

    def best_match(self, template):
        """Highest |normalised cross-correlation| of template over the screen, and where."""
        h, w = template.shape
        H, W = self.pixels.shape
        if h > H or w > W:
            return 0.0, 0, 0
        t = template - template.mean()
        norm_t = np.sqrt((t * t).sum())
        if norm_t == 0:
            return 0.0, 0, 0
        if h <= self.PAD and w <= self.PAD:
            shape, spectrum = self.shape, self.spectrum
        else:
            shape = (H + h, W + w)
            spectrum = np.fft.rfft2(self.pixels, shape)
        correlation = np.fft.irfft2(spectrum * np.conj(np.fft.rfft2(t, shape)), shape)[:H - h + 1, :W - w + 1]

        def window(s):
            return s[h:, w:] - s[:-h, w:] - s[h:, :-w] + s[:-h, :-w]

        n = h * w
        sums, sums2 = window(self.integral), window(self.integral2)
        variance = np.maximum(sums2 - sums * sums / n, 0)
        denominator = np.sqrt(variance) * norm_t
        ncc = np.where(denominator > 1e-6 * n, correlation / np.maximum(denominator, 1e-9), 0)
        index = np.unravel_index(np.argmax(np.abs(ncc)), ncc.shape)
        return float(abs(ncc[index])), int(index[1]), int(index[0])


def main():
    if len(sys.argv) != 5:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    screen_path, text, font, face = sys.argv[1:]
    try:
        screen = Screen(read_ppm(screen_path))
    except (OSError, ValueError, IndexError) as error:
        print(f"glyph-match: cannot read the screenshot: {error}", file=sys.stderr)
        return 2
    # Character by character: a terminal puts each in its own cells, so the gaps between them need
    # not be the font's; each must be found at its best size. The weakest decides.
    found = []
    with tempfile.TemporaryDirectory() as work:
        for n, character in enumerate(text):
            best = (0.0, 0, 0, 0)
            for size in range(20, 31):
                out = os.path.join(work, f"{n}-{size}.png")
                subprocess.run(["hb-view", f"--font-file={font}", f"--face-index={face}", f"--font-size={size}",
                                "--margin=4", "--background=ffffff", "--foreground=000000", "-O", "png", "-o", out, character],
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                template = ink_box(read_png(out))
                if template is None:
                    continue
                score, x, y = screen.best_match(template)
                if score > best[0]:
                    best = (score, size, x, y)
            found.append((character,) + best)
    weakest = min(found, key=lambda f: f[1])
    each = " ".join(f"{c}={score:.3f}@{size}({x},{y})" for c, score, size, x, y in found)
    print(f"best={weakest[1]:.3f} {each}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
