"""Train, validation and test splits, stable as rows are appended and never sharing a text.

Each text (or, with `--split-by speaker`, each voice) falls in [0, 1) by a hash and so into a
split by the ratios: the same text lands in the same split in every voice and on every run. A
split with a share that no text falls into (20 prompts and a 5% test split) takes the text whose
point lies nearest its range, so each split the card names has a row once there are as many
distinct texts as splits. Planning sees every text once and keeps a few numbers, not the texts.
"""

from __future__ import annotations

import hashlib

import numpy as np

SPLITS = ("train", "validation", "test")


def split_point(text: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}:{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class SplitPlan:
    def __init__(self, ratios: tuple[float, float, float], seed: int):
        self.ratios, self.seed = ratios, seed
        self.bounds = np.cumsum(ratios)
        self.counts = [0, 0, 0]
        # per split: (distance, point, text) of the nearest texts outside it, nearest first
        self.nearest: list[list[tuple[float, float, str]]] = [[], [], []]
        self.moved: dict[str, str] = {}

    def _natural(self, point: float) -> int:
        return min(int(np.searchsorted(self.bounds, point, side="right")), 2)

    def add(self, text: str) -> None:
        """Sees one text (repeats are harmless: only counts and the nearest texts are kept)."""
        point = split_point(text, self.seed)
        home = self._natural(point)
        self.counts[home] += 1
        for n in range(3):
            low, high = (self.bounds[n - 1] if n else 0.0), self.bounds[n]
            distance = max(low - point, point - high, 0.0)
            near = self.nearest[n]
            if n != home and text not in (t for _, _, t in near) and (len(near) < 3 or (distance, point) < near[-1][:2]):
                near.append((distance, point, text))
                near.sort()
                del near[3:]

    def finish(self) -> SplitPlan:
        if sum(self.counts) >= len(SPLITS):
            for n in range(3):
                if self.counts[n] or not self.ratios[n]:
                    continue
                for _, point, text in self.nearest[n]:
                    donor = self._natural(point)
                    if text not in self.moved and self.counts[donor] > 1:
                        break
                else:
                    continue
                self.moved[text] = SPLITS[n]
                self.counts[donor] -= 1
                self.counts[n] += 1
        return self

    def __call__(self, text: str) -> str:
        return self.moved.get(text) or SPLITS[self._natural(split_point(text, self.seed))]


def plan_splits(texts, ratios: tuple[float, float, float], seed: int) -> SplitPlan:
    plan = SplitPlan(ratios, seed)
    for text in texts:
        plan.add(text)
    return plan.finish()
