#!/usr/bin/env bash
# A stand-in for sbatch: run the job script in the background and print a job id, as a scheduler
# would. Snakemake's generic cluster executor then waits for the job's own finished/failed markers.
set -euo pipefail
jobscript="${@: -1}"
log="$(dirname "$jobscript")/$(basename "$jobscript").out"
nohup bash "$jobscript" >"$log" 2>&1 &
echo "fake-$!"
