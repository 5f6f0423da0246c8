"""The built-in tiny model (issue 15): does it draw what the prompt and the style say?

On fixed prompts and seeds: colour adherence (dominant hue = the prompt's colour), place
adherence (the thing that stands out is on the named side), subject recognition by a small
classifier trained on the scene corpus, the style-transfer gap a LoRA closes, and speed.

    python tests/bench/bench_tinymodel.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from stylevault.engine import GenerationSpec, Renderer, TrainingSpec, load_pipeline, train_lora
from stylevault.engine.demo_art import HUED_COLOURS, OBJECTS, SUBJECTS, pixel_artworks, scene_corpus
from stylevault.engine.embedding import style_embedding
from tests.engine.adherence import nearest_colour, standout_centre

SIDE, STEPS = 128, 12
SHAPES = ("circle", "square", "triangle", "flower", "house", "boat")
SIDES = {
    "at the top": (1, -1),
    "at the bottom": (1, 1),
    "on the left": (0, -1),
    "on the right": (0, 1),
}


def _render(renderer: Renderer, prompt: str, seed: int, loras=(), side: int = SIDE) -> Image.Image:
    spec = GenerationSpec(
        prompt=prompt, width=side, height=side, seed=seed, steps=STEPS, loras=loras
    )
    return renderer.render(spec).images[0]


def colour_adherence(renderer: Renderer, seeds: int) -> dict:
    prompts = [(colour, f"a {colour} {shape}") for colour in HUED_COLOURS for shape in SHAPES]
    hits = [
        nearest_colour(_render(renderer, prompt, seed)) == colour
        for colour, prompt in prompts
        for seed in range(seeds)
    ]
    return {
        "benchmark": "tiny model: colour adherence (dominant hue = prompt colour)",
        "images": len(hits),
        "share": round(float(np.mean(hits)), 3),
        "goal": "≥ 0.90",
    }


def place_adherence(renderer: Renderer, seeds: int) -> dict:
    hits = []
    for place, (axis, sign) in SIDES.items():
        for colour in HUED_COLOURS:
            for seed in range(seeds):
                centre = standout_centre(_render(renderer, f"a {colour} circle {place}", seed))
                hits.append((centre[axis] - 0.5) * sign > 0)
    return {
        "benchmark": "tiny model: place adherence (top/bottom/left/right)",
        "images": len(hits),
        "share": round(float(np.mean(hits)), 3),
        "goal": "≥ 0.80",
    }


class _Classifier(torch.nn.Module):
    def __init__(self, classes: int) -> None:
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 24, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(24, 48, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(48, 64, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool2d(4),
        )
        self.head = torch.nn.Linear(64 * 16, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def _tensor(images: list[Image.Image]) -> torch.Tensor:
    array = np.stack(
        [np.asarray(i.convert("RGB").resize((48, 48), Image.Resampling.BILINEAR)) for i in images]
    )
    return torch.from_numpy(array).permute(0, 3, 1, 2).float() / 127.5 - 1


def subject_classifier(pictures: int) -> tuple[_Classifier, float]:
    """Trained on the corpus's pictures labelled by main subject; returns it and held-out accuracy."""
    torch.manual_seed(0)
    corpus = scene_corpus(pictures, 96, seed=5)
    x = _tensor([image for image, _, _ in corpus])
    y = torch.tensor([SUBJECTS.index(subject) for _, _, subject in corpus])
    held = pictures // 5
    model = _Classifier(len(SUBJECTS))
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
    for _ in range(8):
        order = torch.randperm(pictures - held) + held
        for start in range(0, len(order), 64):
            batch = order[start : start + 64]
            loss = F.cross_entropy(model(x[batch]), y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(x[:held]).argmax(1) == y[:held]).float().mean().item()
    return model, accuracy


def subject_recognition(renderer: Renderer, seeds: int, pictures: int) -> dict:
    model, held_out = subject_classifier(pictures)
    prompts = []
    for subject in SUBJECTS:
        colour = (
            "yellow"
            if subject in ("sun",)
            else ("green" if subject in ("tree", "hills", "forest") else "blue")
        )
        name = f"a {colour} {subject}" if subject in OBJECTS else f"{colour} {subject}"
        prompts.append((subject, name))
    images, labels = [], []
    for subject, prompt in prompts:
        for seed in range(seeds):
            images.append(_render(renderer, prompt, seed))
            labels.append(SUBJECTS.index(subject))
    with torch.no_grad():
        predicted = model(_tensor(images)).argmax(1)
    share = (predicted == torch.tensor(labels)).float().mean().item()
    return {
        "benchmark": "tiny model: subject recognised by a corpus-trained classifier",
        "images": len(images),
        "held-out accuracy": round(held_out, 3),
        "share": round(share, 3),
        "goal": f"≥ 0.70 (chance {1 / len(SUBJECTS):.2f})",
    }


def style_transfer(renderer: Renderer, pipe, seeds: int) -> dict:
    works = pixel_artworks(count=8, size=SIDE)
    result = train_lora(
        pipe,
        TrainingSpec(
            images=[(image, f"svpixel style, {caption}") for image, caption in works],
            rank=4,
            steps=120,
            learning_rate=3e-3,
            resolution=SIDE,
            seed=3,
        ),
    )
    renderer.add_lora("pixel", result.weights)
    target = style_embedding([image for image, _ in works])
    centre = target.mean(0) / np.linalg.norm(target.mean(0))
    ceiling = float(np.mean(target @ centre))
    prompts = [
        "a red circle",
        "green hills at day",
        "a white boat on the left",
        "a yellow sun over a blue sea at dusk",
    ]

    def similarity(images: list[Image.Image]) -> float:
        return float(np.mean(style_embedding(images) @ centre))

    base = similarity([_render(renderer, p, s) for p in prompts for s in range(seeds)])
    styled = similarity(
        [
            _render(renderer, f"svpixel style, {p}", s, loras=[("pixel", 1.0)])
            for p in prompts
            for s in range(seeds)
        ]
    )
    closed = 1 - (ceiling - styled) / (ceiling - base)
    return {
        "benchmark": "tiny model: style gap closed by a LoRA (handmade-v1 to works' centroid)",
        "works": round(ceiling, 3),
        "base": round(base, 3),
        "lora": round(styled, 3),
        "closed": round(closed, 3),
        "goal": "≥ 0.50",
    }


def speed(renderer: Renderer) -> dict:
    spec = GenerationSpec(prompt="a yellow sun over a blue sea at dusk", steps=20, seed=1)
    renderer.render(spec)  # warm-up
    times = []
    for _ in range(3):
        started = time.perf_counter()
        renderer.render(spec)
        times.append(time.perf_counter() - started)
    return {
        "benchmark": "tiny model: 256x256, 20 steps, CPU",
        "median s": round(statistics.median(times), 2),
        "goal": "≤ 2 s",
    }


def main(quick: bool = False) -> list[dict]:
    seeds = 1 if quick else 4
    with tempfile.TemporaryDirectory() as cache:
        pipe = load_pipeline("tiny", cache_dir=cache)
        renderer = Renderer(pipe)
        rows = [
            speed(renderer),
            colour_adherence(renderer, seeds),
            place_adherence(renderer, seeds),
            subject_recognition(
                renderer, max(1, seeds // 2) if quick else 3, 1000 if quick else 4000
            ),
            style_transfer(renderer, pipe, 2 if quick else 3),
        ]
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    for row in main(parser.parse_args().quick):
        print(row)
