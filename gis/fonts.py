"""The Chinese font of every drawn or printed document (signboards, reports): Noto Sans CJK SC
(Debian package ``fonts-noto-cjk``), found through fontconfig, else in Debian's font folders."""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

from gis.errors import RiverGridError

__all__ = ["FONT_FAMILY", "cjk_font", "cjk_font_files"]

FONT_FAMILY = "Noto Sans CJK SC"
"""Font of every drawn text (Debian package ``fonts-noto-cjk``)."""


@lru_cache(maxsize=1)
def cjk_font_files() -> tuple[str, int, str, int]:
    """(regular file, face index, bold file, face index) of :data:`FONT_FAMILY`."""

    def match(style: str) -> tuple[str, int] | None:
        if shutil.which("fc-match"):
            out = subprocess.run(
                ["fc-match", "-f", "%{file}:%{index}:%{family}", f"{FONT_FAMILY}:style={style}"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout
            path, _, rest = out.partition(":")
            index, _, family = rest.partition(":")
            if path and FONT_FAMILY in family and Path(path).exists():
                return path, int(index or 0)
        name = "NotoSansCJK-Bold.ttc" if style == "Bold" else "NotoSansCJK-Regular.ttc"
        for folder in ("/usr/share/fonts/opentype/noto", "/usr/share/fonts/truetype/noto"):
            p = Path(folder) / name
            if p.exists():
                for i in range(8):
                    try:
                        if ImageFont.truetype(str(p), 10, index=i).getname()[0] == FONT_FAMILY:
                            return str(p), i
                    except OSError:
                        break
        return None

    regular, bold = match("Regular"), match("Bold")
    if regular is None:
        raise RiverGridError(
            "缺少中文字体，无法生成公示牌或报表，请安装 fonts-noto-cjk",
            f"font {FONT_FAMILY!r} not found (apt-get install fonts-noto-cjk)",
        )
    bold = bold or regular
    return regular[0], regular[1], bold[0], bold[1]


@lru_cache(maxsize=32)
def cjk_font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """:data:`FONT_FAMILY` at ``size`` pixels, regular or bold (bold falls back to regular)."""
    reg, ri, bld, bi = cjk_font_files()
    return ImageFont.truetype(bld if bold else reg, size, index=bi if bold else ri)
