"""Draw the two Teams app icons: a small org chart, because JUNO is a people directory.

Run `python manifest/draw_icons.py` after changing the design and commit the PNGs in
`manifest/icons/`. This is a dev-time tool (Pillow is a dev dependency); the package builder
only reads the committed files. The drawing is deterministic, and a test redraws both icons
and compares them pixel by pixel with the committed ones, so the two cannot drift apart.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

ACCENT = "#4B3F9E"
ICON_DIR = Path(__file__).parent / "icons"
_GRID = 32  # the glyph is designed on the 32 px grid of the outline icon
_SUPERSAMPLE = 8
# Glyph in grid units: a manager node above three reports, joined by a bracket.
_HEAD = (16.0, 8.0, 4.0)  # centre x, centre y, radius
_REPORTS = ((6.0, 24.0, 3.0), (16.0, 24.0, 3.0), (26.0, 24.0, 3.0))
_STROKE = 2.0
_BAR_Y = 16.0
_COLOR_SIZE = 192
_COLOR_SCALE = 4.4  # glyph spans ~110 px, well inside Teams' safe area for the 192 px icon


def glyph_mask(size: int, scale: float) -> Image.Image:
    """Return an 'L' mask of the glyph, scaled and centred, drawn supersampled for smooth edges."""
    big = size * _SUPERSAMPLE
    unit = scale * _SUPERSAMPLE
    offset = (big - _GRID * unit) / 2

    def at(value: float) -> int:
        return round(offset + value * unit)

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        # Pillow fills both end coordinates; stop one subpixel short so shapes stay symmetric.
        return at(x0), at(y0), at(x1) - 1, at(y1) - 1

    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    half = _STROKE / 2
    head_x, head_y, head_r = _HEAD
    draw.ellipse(box(head_x - head_r, head_y - head_r, head_x + head_r, head_y + head_r), fill=255)
    draw.rectangle(box(head_x - half, head_y, head_x + half, _BAR_Y), fill=255)
    left, right = _REPORTS[0][0], _REPORTS[-1][0]
    draw.rectangle(box(left - half, _BAR_Y - half, right + half, _BAR_Y + half), fill=255)
    for x, y, r in _REPORTS:
        draw.rectangle(box(x - half, _BAR_Y, x + half, y), fill=255)
        draw.ellipse(box(x - r, y - r, x + r, y + r), fill=255)
    return mask.resize((size, size), Image.Resampling.BOX)


def draw_color(accent: str = ACCENT) -> Image.Image:
    """192x192, full bleed: the white glyph on an opaque accent-colour square."""
    mask = glyph_mask(_COLOR_SIZE, _COLOR_SCALE)
    background = Image.new("RGB", mask.size, accent)
    white = Image.new("RGB", mask.size, "#FFFFFF")
    return Image.composite(white, background, mask)


def draw_outline() -> Image.Image:
    """32x32, pure white on transparent; Teams rejects semi-transparent or non-white pixels."""
    mask = glyph_mask(_GRID, 1.0).point(lambda value: 255 if value >= 128 else 0)
    icon = Image.new("RGBA", mask.size, (255, 255, 255, 0))
    icon.putalpha(mask)
    return icon


def main(out_dir: Path = ICON_DIR) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    draw_color().save(out_dir / "color.png", format="PNG", optimize=True)
    draw_outline().save(out_dir / "outline.png", format="PNG", optimize=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ICON_DIR)
