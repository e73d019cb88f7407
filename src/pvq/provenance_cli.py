"""Write a stage directory's provenance.json (resolved config, code version, library versions)."""

from __future__ import annotations

import json

from pvq.io import write_json
from pvq.provenance import provenance

HELP = __doc__


def add_arguments(parser) -> None:
    parser.add_argument("--config-json", required=True, help="the resolved config, as JSON")
    parser.add_argument("--out", required=True, help="the provenance.json to write")


def run(args) -> None:
    write_json(provenance(json.loads(args.config_json)), args.out)
