# Config validation, paths and the few helpers the rules share. All logic lives in src/pvq.
import sys
from pathlib import Path

from pvq.config import apply_overlays, check_paths, load_yaml, validate


# Validate before any job runs: defaults filled in place, bad keys named in the error. The overlays
# (--configfile, then --config) are applied again first, because Snakemake's own merge ignores an
# overlay's empty mapping ({}) where it should empty it.
_overlays = [load_yaml(path) for path in workflow.config_settings.configfiles] + [dict(workflow.config_settings.config)]
_resolved = validate(apply_overlays(config, _overlays),
                     Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml")
config.clear()
config.update(_resolved)


# Data paths are checked when a real run starts (a dry run does not look), before any job.
onstart:
    check_paths(config)

RESULTS = f"results/{config['run_name']}"
FIGURES = f"{RESULTS}/figures"
TABLES = f"{RESULTS}/tables"
LOGS = f"{RESULTS}/logs"
BENCHMARKS = f"{RESULTS}/benchmarks"
# Jobs run `python -m pvq` with the interpreter that runs Snakemake (it has pvq installed),
# whatever PATH the caller had.
shell.prefix(f"set -euo pipefail; export PATH={Path(sys.executable).parent}:$PATH; ")
# The software environment every rule runs in (used with --sdm conda).
CONDA_ENV = "../../environment.yml"
# Artifacts per results subdirectory; each subdirectory gets a provenance.json recording them.
STAGE_OUTPUTS = {}
# Experiments that get a quantization card (each stage adds its own).
EXPERIMENTS = []


def figure_files(name):
    return [f"{FIGURES}/{name}.pdf", f"{FIGURES}/{name}.png"]
