#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Turns a QR code drawn as terminal text (totp-setup --qr ascii|utf8) into a
PGM image that zbarimg can read: ink (the drawn characters) black, the rest
white, each module SCALE x SCALE pixels, with a white border added (terminal
captures lose trailing spaces, so the drawn quiet zone may be cut).

usage: qr_text_to_pgm.py ascii|utf8 < text > image.pgm
Lines without any ink are dropped at the top and bottom."""
import sys

SCALE = 4
BORDER = 6  # modules

UPPER, LOWER, FULL = "\u2580", "\u2584", "\u2588"


def rows_ascii(lines):
    rows = []
    for line in lines:
        row = []
        for i in range(0, len(line), 2):
            pair = line[i:i + 2]
            row.append(pair.startswith("#"))
        rows.append(row)
    return rows


def rows_utf8(lines):
    rows = []
    for line in lines:
        top = [c in (UPPER, FULL) for c in line]
        bottom = [c in (LOWER, FULL) for c in line]
        rows.extend([top, bottom])
    return rows


def main():
    mode = sys.argv[1]
    ink = "#" if mode == "ascii" else UPPER + LOWER + FULL
    text = sys.stdin.buffer.read().decode("utf-8")
    lines = text.split("\n")
    inked = [i for i, l in enumerate(lines) if any(c in ink for c in l)]
    if not inked:
        sys.exit("no QR code in the input")
    lines = lines[inked[0]:inked[-1] + 1]
    rows = rows_ascii(lines) if mode == "ascii" else rows_utf8(lines)
    width = max(len(r) for r in rows) + 2 * BORDER
    height = len(rows) + 2 * BORDER
    out = bytearray()
    out += b"P5\n%d %d\n255\n" % (width * SCALE, height * SCALE)
    blank = [False] * width
    full_rows = [blank] * BORDER + [[False] * BORDER + r + [False] * (width - BORDER - len(r)) for r in rows] + [blank] * BORDER
    for r in full_rows:
        line = bytearray()
        for dark in r:
            line += (b"\x00" if dark else b"\xff") * SCALE
        out += bytes(line) * SCALE
    sys.stdout.buffer.write(out)


if __name__ == "__main__":
    main()
