# Whole-model post-training compression (beyond the paper): RTN, GPTQ, magnitude, Wanda, SparseGPT and
# SparseGPT with GPTQ rounding at equal storage, layer by layer through the compressed model, scored
# on the fine-tuning stage's held-out photos; Fig. 14. One job per model.
import json

PTQ = config["ptq"]
PTQ_DIR = f"{RESULTS}/ptq"
PTQ_SETTINGS = json.dumps({**{key: PTQ[key] for key in ("calibration_crops", "damp", "order", "block",
                                                        "joint_sparsity")},
                           "photos": config["finetune"]["photos"], "seed": config["seed"],
                           "baseline_bits": config["baseline_bits"]}, sort_keys=True)
PTQ_CSVS = expand(f"{PTQ_DIR}/{{model}}.csv", model=PTQ["models"])
EXPERIMENTS.append("ptq")


rule compress_ptq_model:
    output:
        csv=f"{PTQ_DIR}/{{model}}.csv",
    params:
        methods=PTQ["methods"],
        bits=PTQ["bits"],
        settings=PTQ_SETTINGS,
    wildcard_constraints:
        model="|".join(PTQ["models"]),
    threads: PTQ["threads"]
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/ptq/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/ptq/{{model}}.tsv"
    shell:
        "python -m pvq ptq --model {wildcards.model} --methods {params.methods:q} --bits {params.bits}"
        " --settings {params.settings:q} --threads {threads} --out {output.csv} > {log} 2>&1"


rule plot_fig14:
    input:
        ptq=PTQ_CSVS,
    output:
        pdf=f"{FIGURES}/fig14_ptq_lite0.pdf",
        png=report(f"{FIGURES}/fig14_ptq_lite0.png", caption="../report/fig14_ptq_lite0.rst",
                   category="Beyond the paper: post-training"),
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/figures/fig14_ptq_lite0.log",
    benchmark:
        f"{BENCHMARKS}/figures/fig14_ptq_lite0.tsv"
    shell:
        "python -m pvq plot fig14_ptq_lite0 $(printf -- '--input ptq=%s ' {input.ptq})"
        " --out {output.pdf} {output.png} > {log} 2>&1"


FIG14_FILES = list(rules.plot_fig14.output)
STAGE_OUTPUTS["ptq"] = PTQ_CSVS
STAGE_OUTPUTS.setdefault("figures", []).extend(FIG14_FILES)
