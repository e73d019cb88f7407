"""One module per figure. Each reads CSV tables only (no torch, no solvers) and exposes
``INPUTS`` (the names of the tables it draws) and ``draw(**tables) -> matplotlib Figure``."""
