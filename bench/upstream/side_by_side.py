#!/usr/bin/env python3
"""Joins our benchmark report and upstream's rows on the case name (the text before any parenthesis)."""
import sys


def rows(path):
    out = {}
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0] not in ("suite", "---"):
            key = cells[1].split(" (")[0]
            out.setdefault(key, cells[2])
    return out


def seconds(text):
    value, unit = text.split()
    return float(value) * {"s": 1, "ms": 1e-3, "µs": 1e-6}[unit]


ours, upstream = rows(sys.argv[1]), rows(sys.argv[2])
print("| case | NeuralMag for .NET | upstream NeuralMag (torch CPU) | upstream / ours |")
print("|---|---:|---:|---:|")
for key, mine in ours.items():
    if key in upstream:
        print(f"| {key} | {mine} | {upstream[key]} | {seconds(upstream[key]) / seconds(mine):.1f} |")
