"""Draw the phone app's icons (``field/icons/icon-192.png`` and ``icon-512.png``) with Pillow.

A blue square (full bleed, so it also works as a maskable icon) with a white map pin over three
white waves: a river and a position. Everything sits inside the central 80 % safe zone.

Usage: ``python scripts/field_icons.py`` (from anywhere); writes the two files.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "field" / "icons"
BLUE = (21, 101, 192, 255)
WHITE = (255, 255, 255, 255)
SIZES = (192, 512)
SUPERSAMPLE = 4


def draw_icon(size: int) -> Image.Image:
    """The icon at ``size``×``size`` pixels (drawn larger and scaled down for smooth edges)."""
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), BLUE)
    draw = ImageDraw.Draw(image)
    unit = big / 100  # drawing in percent of the side
    # three waves across the lower half
    width = max(1, round(5 * unit))
    for row, y0 in enumerate((62, 73, 84)):
        points = []
        for i in range(61):
            x = 18 + i
            points.append((x * unit, (y0 + 3.2 * math.sin((x - 18) / 64 * 4 * math.pi + row)) * unit))
        draw.line(points, fill=WHITE, width=width, joint="curve")
    # the pin: a circle and a triangle pointing down onto the first wave
    cx, cy, r = 50 * unit, 33 * unit, 15 * unit
    draw.polygon([(cx - r * 0.86, cy + r * 0.5), (cx + r * 0.86, cy + r * 0.5), (cx, cy + r * 2.0)], fill=WHITE)
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=WHITE)
    draw.ellipse([cx - r * 0.42, cy - r * 0.42, cx + r * 0.42, cy + r * 0.42], fill=BLUE)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        draw_icon(size).save(OUT / f"icon-{size}.png", optimize=True)


if __name__ == "__main__":
    main()
