"""The natural photos that ship inside installed wheels, by scene, with their ImageNet classes where an
ImageNet class names the subject.

Sources (all inside the wheels, nothing fetched): scikit-learn's ``datasets/images``, matplotlib's
``mpl-data/sample_data``, and scikit-image's ``data`` folder (its wheel ships these files; others,
such as eagle.png, are fetched by pooch on first use and are not listed here). A *scene* is one
subject: the two views of scikit-image's stereo motorcycle pair are one scene, so a split by scene
never trains on one view and tests on the other. Greyscale photos are repeated to three channels.

Labels are sets of ImageNet-1k class indices, given only where the subject is an ImageNet class:
chelsea is a tabby cat (the three fine-grained house-cat classes are accepted), coffee an espresso
in a cup. The dahlia, the motorcycle (not an ImageNet class; moped and motor scooter are other
vehicles), the palace-like tower and the rest have no label.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Scene:
    """One subject: the package that ships it, its file(s) in that package, its ImageNet classes."""

    package: str
    files: tuple[str, ...]
    classes: tuple[int, ...] = field(default=())  # empty: the true class is unknown


_SKIMAGE, _SKLEARN, _MPL = "scikit-image", "scikit-learn", "matplotlib"
SCENES: dict[str, Scene] = {
    # colour photos of objects
    "china": Scene(_SKLEARN, ("china.jpg",)),
    "flower": Scene(_SKLEARN, ("flower.jpg",)),
    "grace_hopper": Scene(_MPL, ("grace_hopper.jpg",)),
    "astronaut": Scene(_SKIMAGE, ("astronaut.png",)),
    "chelsea": Scene(_SKIMAGE, ("chelsea.png",), (281, 282, 285)),  # tabby, tiger cat, Egyptian cat
    "coffee": Scene(_SKIMAGE, ("coffee.png",), (967, 968)),  # espresso, cup
    "rocket": Scene(_SKIMAGE, ("rocket.jpg",)),
    "motorcycle": Scene(_SKIMAGE, ("motorcycle_left.png", "motorcycle_right.png")),
    "hubble_deep_field": Scene(_SKIMAGE, ("hubble_deep_field.jpg",)),
    "ihc": Scene(_SKIMAGE, ("ihc.png",)),
    "retina": Scene(_SKIMAGE, ("retina.jpg",)),
    # greyscale photos
    "camera": Scene(_SKIMAGE, ("camera.png",)),
    "coins": Scene(_SKIMAGE, ("coins.png",)),
    "moon": Scene(_SKIMAGE, ("moon.png",)),
    "brick": Scene(_SKIMAGE, ("brick.png",)),
    "grass": Scene(_SKIMAGE, ("grass.png",)),
    "gravel": Scene(_SKIMAGE, ("gravel.png",)),
    "page": Scene(_SKIMAGE, ("page.png",)),
    "text": Scene(_SKIMAGE, ("text.png",)),
    "clock_motion": Scene(_SKIMAGE, ("clock_motion.png",)),
}
_FOLDERS = {_SKLEARN: ("sklearn", "datasets/images"), _MPL: ("matplotlib", "mpl-data/sample_data"),
            _SKIMAGE: ("skimage", "data")}


class PhotoError(FileNotFoundError):
    """A scene's file is not where its package should ship it; the message names the fix."""


def photo_path(package: str, file: str) -> Path:
    """Where ``package``'s wheel puts ``file`` (found without importing the package)."""
    module, folder = _FOLDERS[package]
    spec = find_spec(module)
    if spec is None or spec.origin is None:
        raise PhotoError(f"package {package} is not installed; it ships {file} (pip install {package})")
    path = Path(spec.origin).parent / folder / file
    if not path.is_file():
        raise PhotoError(f"{path} is missing: this {package} does not ship {file}; reinstall the version "
                         "pyproject.toml names")
    return path


@lru_cache(maxsize=None)
def _read(package: str, file: str) -> np.ndarray:
    from PIL import Image

    with Image.open(photo_path(package, file)) as image:
        array = np.asarray(image.convert("RGB"))  # greyscale -> 3 equal channels, RGBA -> RGB
    array.setflags(write=False)
    return array


def scene_photos(name: str) -> list[np.ndarray]:
    """The uint8 RGB arrays (H, W, 3) of scene ``name`` (one per view), read-only."""
    if name not in SCENES:
        raise KeyError(f"unknown photo scene {name!r}; known: {', '.join(sorted(SCENES))}")
    scene = SCENES[name]
    return [_read(scene.package, file) for file in scene.files]


def check_disjoint(**groups) -> None:
    """Raise ValueError when a scene appears in two of the named groups (train, val, test, ...)."""
    seen: dict[str, str] = {}
    for group, names in groups.items():
        for name in names:
            if name not in SCENES:
                raise KeyError(f"unknown photo scene {name!r} in {group}; known: {', '.join(sorted(SCENES))}")
            if name in seen and seen[name] != group:
                raise ValueError(f"photo scene {name!r} is in both {seen[name]} and {group}: held-out "
                                 "scenes must never be seen in training")
            seen[name] = group
