# Every results subdirectory carries the resolved config, code version and library versions that
# made its artifacts; it is rewritten whenever one of them is.
import json

PROVENANCE = expand(f"{RESULTS}/{{stage}}/provenance.json", stage=sorted(STAGE_OUTPUTS))


rule record_provenance:
    input:
        lambda wildcards: STAGE_OUTPUTS[wildcards.stage],
    output:
        f"{RESULTS}/{{stage}}/provenance.json",
    params:
        config=json.dumps(config, sort_keys=True),
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/provenance/{{stage}}.log",
    benchmark:
        f"{BENCHMARKS}/provenance/{{stage}}.tsv"
    wildcard_constraints:
        stage="|".join(STAGE_OUTPUTS),
    shell:
        "python -m pvq provenance --config-json {params.config:q} --out {output} > {log} 2>&1"
