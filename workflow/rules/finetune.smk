# Full-model fine-tuning (paper §5, App. D, G-I): QAT (LSQ) vs gradual magnitude pruning, one job
# per (model, method, bits); Table 1, Table 5 (longer schedule), Fig. 6 (single-layer SNR vs accuracy),
# Fig. 7/8 (representations per layer and epoch).
import json

from pvq.config import DATA_PATHS, finetune_bits

FINETUNE = config["finetune"]
FINETUNE_DIR = f"{RESULTS}/finetune"
FINETUNE_SETTINGS = json.dumps({**FINETUNE, "seed": config["seed"], "baseline_bits": config["baseline_bits"],
                                **{key: config[key] for key in DATA_PATHS}}, sort_keys=True)
FINETUNE_MODELS = list(FINETUNE["models"])
EXPERIMENTS.append("finetune")
# Every (model, method, bits) cell, each model at its own bit widths; Table 5's under long/.
FINETUNE_CELLS = [f"{model}/{{folder}}{method}-b{bits}" for model in FINETUNE_MODELS
                  for method in ("quant", "prune") for bits in finetune_bits(FINETUNE, model)]


wildcard_constraints:
    model="|".join(FINETUNE_MODELS),
    method="quant|prune",
    bits=r"\d+",


rule train_fp_baseline:
    output:
        weights=f"{FINETUNE_DIR}/{{model}}/fp.pt",
        record=f"{FINETUNE_DIR}/{{model}}/fp.json",
    params:
        settings=FINETUNE_SETTINGS,
    threads: FINETUNE["threads"]
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/finetune/{{model}}/fp.log",
    benchmark:
        f"{BENCHMARKS}/finetune/{{model}}/fp.tsv"
    shell:
        "python -m pvq finetune baseline --model {wildcards.model} --settings {params.settings:q}"
        " --out-weights {output.weights} --out {output.record} > {log} 2>&1"


rule finetune_run:
    input:
        weights=rules.train_fp_baseline.output.weights,
        record=rules.train_fp_baseline.output.record,
    output:
        record=f"{FINETUNE_DIR}/{{model}}/{{method}}-b{{bits}}.json",
        representations=f"{FINETUNE_DIR}/{{model}}/{{method}}-b{{bits}}_representations.csv",
    params:
        settings=FINETUNE_SETTINGS,
        flags=f"--checkpoint-dir {FINETUNE_DIR}/{{model}}/checkpoints" if FINETUNE["checkpoint"] else "",
    threads: FINETUNE["threads"]
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/finetune/{{model}}/{{method}}-b{{bits}}.log",
    benchmark:
        f"{BENCHMARKS}/finetune/{{model}}/{{method}}-b{{bits}}.tsv"
    shell:
        "python -m pvq finetune run --model {wildcards.model} --method {wildcards.method}"
        " --bits {wildcards.bits} --settings {params.settings:q} --fp-weights {input.weights}"
        " --fp-json {input.record} {params.flags} --out {output.record}"
        " --out-representations {output.representations} > {log} 2>&1"


# Table 5 (App. H of the later version): the same runs with long_factor times the epochs.
use rule finetune_run as finetune_run_long with:
    output:
        record=f"{FINETUNE_DIR}/{{model}}/long/{{method}}-b{{bits}}.json",
        representations=f"{FINETUNE_DIR}/{{model}}/long/{{method}}-b{{bits}}_representations.csv",
    params:
        settings=FINETUNE_SETTINGS,
        flags="--long" + (f" --checkpoint-dir {FINETUNE_DIR}/{{model}}/long/checkpoints"
                          if FINETUNE["checkpoint"] else ""),
    log:
        f"{LOGS}/finetune/{{model}}/long/{{method}}-b{{bits}}.log",
    benchmark:
        f"{BENCHMARKS}/finetune/{{model}}/long/{{method}}-b{{bits}}.tsv"


rule measure_layer_sensitivity:
    input:
        weights=rules.train_fp_baseline.output.weights,
        record=rules.train_fp_baseline.output.record,
    output:
        table=f"{FINETUNE_DIR}/{{model}}/sensitivity.csv",
        correlation=f"{FINETUNE_DIR}/{{model}}/sensitivity_correlation.csv",
    params:
        settings=FINETUNE_SETTINGS,
    threads: FINETUNE["threads"]
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/finetune/{{model}}/sensitivity.log",
    benchmark:
        f"{BENCHMARKS}/finetune/{{model}}/sensitivity.tsv"
    shell:
        "python -m pvq finetune sensitivity --model {wildcards.model} --settings {params.settings:q}"
        " --fp-weights {input.weights} --fp-json {input.record} --out {output.table}"
        " --out-correlation {output.correlation} > {log} 2>&1"


FINETUNE_RUNS = [f"{FINETUNE_DIR}/{cell.format(folder='')}.json" for cell in FINETUNE_CELLS]
FINETUNE_LONG_RUNS = [f"{FINETUNE_DIR}/{cell.format(folder='long/')}.json" for cell in FINETUNE_CELLS]
# Fig. 8 draws every bit width of the drawn models, Fig. 7 one bit width per layer.
REPRESENTATIONS = [f"{FINETUNE_DIR}/{model}/{method}-b{bits}_representations.csv"
                   for model in FINETUNE["representations"]["models"] for method in ("quant", "prune")
                   for bits in finetune_bits(FINETUNE, model)]


rule tabulate_table1:
    input:
        FINETUNE_RUNS,
    output:
        csv=report(f"{TABLES}/table1_finetune.csv", caption="../report/table1_finetune.rst",
                   category="§5 Fine-tuning"),
        md=f"{TABLES}/table1_finetune.md",
        tex=f"{TABLES}/table1_finetune.tex",
    params:
        settings=FINETUNE_SETTINGS,
        caption="QAT vs magnitude pruning with fine-tuning, equal model size and epochs (Table 1)",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/tables/table1_finetune.log",
    benchmark:
        f"{BENCHMARKS}/tables/table1_finetune.tsv"
    shell:
        "python -m pvq finetune table --input {input} --settings {params.settings:q}"
        " --caption {params.caption:q} --out {output.csv} > {log} 2>&1"


use rule tabulate_table1 as tabulate_table5 with:
    input:
        FINETUNE_LONG_RUNS,
    output:
        csv=report(f"{TABLES}/table5_finetune_long.csv", caption="../report/table5_finetune_long.rst",
                   category="§5 Fine-tuning"),
        md=f"{TABLES}/table5_finetune_long.md",
        tex=f"{TABLES}/table5_finetune_long.tex",
    params:
        settings=FINETUNE_SETTINGS,
        caption=f"QAT vs magnitude pruning with {FINETUNE['long_factor']}x longer fine-tuning (Table 5)",
    log:
        f"{LOGS}/tables/table5_finetune_long.log",
    benchmark:
        f"{BENCHMARKS}/tables/table5_finetune_long.tsv"


rule plot_fig6:
    input:
        sensitivity=expand(f"{FINETUNE_DIR}/{{model}}/sensitivity.csv", model=FINETUNE["sensitivity"]["models"]),
        correlation=expand(f"{FINETUNE_DIR}/{{model}}/sensitivity_correlation.csv",
                           model=FINETUNE["sensitivity"]["models"]),
    output:
        pdf=f"{FIGURES}/fig6_snr_vs_accuracy.pdf",
        png=report(f"{FIGURES}/fig6_snr_vs_accuracy.png", caption="../report/fig6_snr_vs_accuracy.rst",
                   category="§5 Fine-tuning"),
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/figures/fig6_snr_vs_accuracy.log",
    benchmark:
        f"{BENCHMARKS}/figures/fig6_snr_vs_accuracy.tsv"
    shell:
        "python -m pvq plot fig6_snr_vs_accuracy $(printf -- '--input sensitivity=%s ' {input.sensitivity})"
        " $(printf -- '--input correlation=%s ' {input.correlation}) --out {output.pdf} {output.png} > {log} 2>&1"


rule plot_fig7:
    input:
        expand(f"{FINETUNE_DIR}/{{model}}/{{method}}-b{FINETUNE['representations']['bits']}_representations.csv",
               model=FINETUNE["representations"]["models"], method=["quant", "prune"]),
    output:
        pdf=f"{FIGURES}/fig7_representations_by_layer.pdf",
        png=report(f"{FIGURES}/fig7_representations_by_layer.png",
                   caption="../report/fig7_representations_by_layer.rst", category="§5 Fine-tuning"),
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/figures/fig7_representations_by_layer.log",
    benchmark:
        f"{BENCHMARKS}/figures/fig7_representations_by_layer.tsv"
    shell:
        "python -m pvq plot fig7_representations_by_layer $(printf -- '--input representations=%s ' {input})"
        " --out {output.pdf} {output.png} > {log} 2>&1"


rule plot_fig8:
    input:
        REPRESENTATIONS,
    output:
        pdf=f"{FIGURES}/fig8_representations_last_layer.pdf",
        png=report(f"{FIGURES}/fig8_representations_last_layer.png",
                   caption="../report/fig8_representations_last_layer.rst", category="§5 Fine-tuning"),
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/figures/fig8_representations_last_layer.log",
    benchmark:
        f"{BENCHMARKS}/figures/fig8_representations_last_layer.tsv"
    shell:
        "python -m pvq plot fig8_representations_last_layer $(printf -- '--input representations=%s ' {input})"
        " --out {output.pdf} {output.png} > {log} 2>&1"


STAGE_OUTPUTS["finetune"] = [
    *expand(f"{FINETUNE_DIR}/{{model}}/fp.{{ext}}", model=FINETUNE_MODELS, ext=["pt", "json"]),
    *FINETUNE_RUNS, *FINETUNE_LONG_RUNS,
    *[path.replace(".json", "_representations.csv") for path in FINETUNE_RUNS + FINETUNE_LONG_RUNS],
    *expand(f"{FINETUNE_DIR}/{{model}}/sensitivity{{suffix}}.csv", model=FINETUNE["sensitivity"]["models"],
            suffix=["", "_correlation"]),
]
STAGE_OUTPUTS.setdefault("tables", []).extend([*rules.tabulate_table1.output, *rules.tabulate_table5.output])
STAGE_OUTPUTS.setdefault("figures", []).extend(
    [*rules.plot_fig6.output, *rules.plot_fig7.output, *rules.plot_fig8.output]
)
