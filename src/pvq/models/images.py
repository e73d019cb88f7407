"""Natural photos that ship inside installed packages, and the preprocessing the Lite weights expect.

Bundled: scikit-learn's china.jpg and flower.jpg, matplotlib's grace_hopper.jpg. Evaluation
preprocessing: shorter side to crop / 0.875 (bilinear, antialiased), centre crop, [0, 1], then
(x - 0.5) / 0.5 per channel. Calibration inputs are seeded random crops of the same photos.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

MEAN, STD = 0.5, 0.5


def bundled_photos() -> dict[str, np.ndarray]:
    """name -> uint8 RGB array (H, W, 3), read from the installed packages (no network)."""
    import matplotlib.cbook
    import matplotlib.image
    from sklearn.datasets import load_sample_image

    photos = {name: load_sample_image(f"{name}.jpg") for name in ("china", "flower")}
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        photos["grace_hopper"] = np.asarray(matplotlib.image.imread(handle, format="jpg"))
    return photos


def to_tensor(photo: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) -> float (3, H, W) in [0, 1]."""
    return torch.from_numpy(np.array(photo, dtype=np.uint8)).permute(2, 0, 1).float() / 255.0


def resize_shorter(image: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear, antialiased resize of (3, H, W) so that min(H, W) == size."""
    h, w = image.shape[-2:]
    scale = size / min(h, w)
    out = (max(size, round(h * scale)), max(size, round(w * scale)))
    return F.interpolate(image[None], size=out, mode="bilinear", antialias=True, align_corners=False)[0]


def normalise(image: torch.Tensor, mean=MEAN, std=STD) -> torch.Tensor:
    """(x - mean) / std per channel (scalars or 3-sequences); Lite weights: 0.5 / 0.5."""
    mean = torch.as_tensor(mean, dtype=image.dtype).reshape(-1, 1, 1)
    std = torch.as_tensor(std, dtype=image.dtype).reshape(-1, 1, 1)
    return (image - mean) / std


def evaluation_tensor(photo: np.ndarray, crop: int = 224) -> torch.Tensor:
    """Resize shorter side to crop / 0.875, centre crop, normalise: (3, crop, crop)."""
    image = resize_shorter(to_tensor(photo), round(crop / 0.875))
    h, w = image.shape[-2:]
    top, left = (h - crop) // 2, (w - crop) // 2
    return normalise(image[:, top:top + crop, left:left + crop])


def random_crops(photos: list[np.ndarray], count: int, crop: int, seed: int | Sequence[int],
                 min_scale: float = 0.25, mean=MEAN, std=STD, offset: int = 0) -> torch.Tensor:
    """``count`` seeded random crops (N, 3, crop, crop): photo chosen in turn (starting at ``offset``),
    a square covering min_scale..1 of the shorter side at a random position, random horizontal flip,
    resized to crop. ``seed`` may be a sequence (numpy's SeedSequence), e.g. (run seed, epoch, step)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        photo = photos[(offset + i) % len(photos)]
        h, w = photo.shape[:2]
        side = int(round(min(h, w) * np.sqrt(rng.uniform(min_scale, 1.0))))
        top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        patch = to_tensor(photo[top:top + side, left:left + side])  # crop first: converts only the patch
        if rng.random() < 0.5:
            patch = patch.flip(-1)
        patch = F.interpolate(patch[None], size=(crop, crop), mode="bilinear", antialias=True,
                              align_corners=False)[0]
        out.append(normalise(patch, mean, std))
    return torch.stack(out)


def imagenet_photos(root: str | Path, count: int, seed: int) -> list[np.ndarray]:
    """``count`` seeded JPEGs from an ImageNet layout (root/train/<class>/*.JPEG, or root/<class>/...)."""
    import matplotlib.image

    root = Path(root)
    base = root / "train" if (root / "train").is_dir() else root
    files = sorted(p for p in base.glob("*/*") if p.suffix.lower() in {".jpeg", ".jpg", ".png"})
    if not files:
        raise FileNotFoundError(f"no class folders of images under {base}")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(files), size=min(count, len(files)), replace=False)
    photos = []
    for index in sorted(chosen):
        photo = np.asarray(matplotlib.image.imread(files[index]))
        if photo.ndim == 2:
            photo = np.repeat(photo[..., None], 3, axis=-1)
        if photo.dtype != np.uint8:
            photo = (np.clip(photo, 0, 1) * 255).astype(np.uint8)
        photos.append(photo[..., :3])
    return photos
