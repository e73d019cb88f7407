# Beyond the paper: per-tensor pruning, quantization or both under a model-size budget (Fig. 10, 11);
# the formats variant offers the configured method specs instead of the paper's options (Fig. 15).
from pvq.formats.specs import checked_methods

ALLOCATION = config["allocation"]
ALLOCATION_MODELS = ALLOCATION["models"]
ALLOCATION_CSVS = expand(f"{RESULTS}/allocation/{{model}}.csv", model=ALLOCATION_MODELS)
ALLOCATION_CHOICES = expand(f"{RESULTS}/allocation/{{model}}_choices.csv", model=ALLOCATION_MODELS)
# the fine-tuning stage's trained digits model: tensors from its checkpoint, test accuracy per allocation
ALLOCATION_TRAINED = [model for model in ALLOCATION_MODELS if model == "digits_resnet"]
ALLOCATION_ZOO_MODELS = [model for model in ALLOCATION_MODELS if model not in ALLOCATION_TRAINED]
ALLOCATION_ACCURACY = expand(f"{RESULTS}/allocation/{{model}}_accuracy.csv", model=ALLOCATION_TRAINED)
# the formats variant: method specs as the options; a spec that does not parse stops the workflow here
ALLOCATION_SPECS = list(checked_methods(ALLOCATION["specs"], key="allocation.specs"))
ALLOCATION_FORMATS = expand(f"{RESULTS}/allocation/{{model}}_formats.csv", model=ALLOCATION_MODELS)
ALLOCATION_FORMATS_CHOICES = expand(f"{RESULTS}/allocation/{{model}}_formats_choices.csv", model=ALLOCATION_MODELS)
EXPERIMENTS.append("allocation")


rule allocate_model:
    input:
        zoo=f"{RESULTS}/zoo/{{model}}.csv",
        zoo_all=ZOO_CSVS,
    output:
        csv=f"{RESULTS}/allocation/{{model}}.csv",
        choices=f"{RESULTS}/allocation/{{model}}_choices.csv",
    params:
        bits=ALLOCATION["bits"],
        sparsities=ALLOCATION["sparsities"],
        budgets=ALLOCATION["budget_bits"],
        baseline=config["baseline_bits"],
        candidates=ZOO["scale_candidates"],
        section=ALLOCATION,
    wildcard_constraints:
        model="|".join(ALLOCATION_ZOO_MODELS) or "(?!)",  # (?!): matches nothing
    threads: 2
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/allocation/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/allocation/{{model}}.tsv"
    shell:
        "python -m pvq allocation allocate --model {wildcards.model} --zoo {input.zoo} --zoo-all {input.zoo_all}"
        " --bits {params.bits} --sparsities {params.sparsities} --budgets {params.budgets}"
        " --baseline-bits {params.baseline} --scale-bits {params.section[scale_bits]}"
        " --mask-encoding {params.section[mask_encoding]} --index-bits {params.section[index_bits]}"
        " --objective {params.section[objective]} --solver {params.section[solver]}"
        " --time-limit-s {params.section[time_limit_s]} --candidates {params.candidates} --workers {threads}"
        " --out {output.csv} --out-choices {output.choices} > {log} 2>&1"


rule allocate_trained_model:
    input:
        weights=f"{RESULTS}/finetune/{{model}}/fp.pt",
        zoo_all=ZOO_CSVS,
    output:
        csv=f"{RESULTS}/allocation/{{model}}.csv",
        choices=f"{RESULTS}/allocation/{{model}}_choices.csv",
        accuracy=f"{RESULTS}/allocation/{{model}}_accuracy.csv",
    params:
        bits=ALLOCATION["bits"],
        sparsities=ALLOCATION["sparsities"],
        budgets=ALLOCATION["budget_bits"],
        baseline=config["baseline_bits"],
        candidates=ZOO["scale_candidates"],
        seed=config["seed"],
        section=ALLOCATION,
    wildcard_constraints:
        model="|".join(ALLOCATION_TRAINED) or "(?!)",
    threads: 1
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/allocation/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/allocation/{{model}}.tsv"
    shell:
        "python -m pvq allocation allocate --model {wildcards.model} --weights {input.weights} --seed {params.seed}"
        " --zoo-all {input.zoo_all}"
        " --bits {params.bits} --sparsities {params.sparsities} --budgets {params.budgets}"
        " --baseline-bits {params.baseline} --scale-bits {params.section[scale_bits]}"
        " --mask-encoding {params.section[mask_encoding]} --index-bits {params.section[index_bits]}"
        " --objective {params.section[objective]} --solver {params.section[solver]}"
        " --time-limit-s {params.section[time_limit_s]} --candidates {params.candidates} --workers {threads}"
        " --out {output.csv} --out-choices {output.choices} --out-accuracy {output.accuracy} > {log} 2>&1"


rule allocate_model_formats:
    input:
        zoo=f"{RESULTS}/zoo/{{model}}.csv",
    output:
        csv=f"{RESULTS}/allocation/{{model}}_formats.csv",
        choices=f"{RESULTS}/allocation/{{model}}_formats_choices.csv",
    params:
        specs=ALLOCATION_SPECS,
        budgets=ALLOCATION["budget_bits"],
        section=ALLOCATION,
    wildcard_constraints:
        model="|".join(ALLOCATION_ZOO_MODELS) or "(?!)",
    threads: 2
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/allocation/{{model}}_formats.log",
    benchmark:
        f"{BENCHMARKS}/allocation/{{model}}_formats.tsv"
    shell:
        "python -m pvq allocation allocate-formats --model {wildcards.model} --zoo {input.zoo}"
        " --spec {params.specs:q} --budgets {params.budgets} --scale-bits {params.section[scale_bits]}"
        " --objective {params.section[objective]} --solver {params.section[solver]}"
        " --time-limit-s {params.section[time_limit_s]} --workers {threads}"
        " --out {output.csv} --out-choices {output.choices} > {log} 2>&1"


rule allocate_trained_model_formats:
    input:
        weights=f"{RESULTS}/finetune/{{model}}/fp.pt",
    output:
        csv=f"{RESULTS}/allocation/{{model}}_formats.csv",
        choices=f"{RESULTS}/allocation/{{model}}_formats_choices.csv",
    params:
        specs=ALLOCATION_SPECS,
        budgets=ALLOCATION["budget_bits"],
        seed=config["seed"],
        section=ALLOCATION,
    wildcard_constraints:
        model="|".join(ALLOCATION_TRAINED) or "(?!)",
    threads: 1
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/allocation/{{model}}_formats.log",
    benchmark:
        f"{BENCHMARKS}/allocation/{{model}}_formats.tsv"
    shell:
        "python -m pvq allocation allocate-formats --model {wildcards.model} --weights {input.weights}"
        " --seed {params.seed} --spec {params.specs:q} --budgets {params.budgets}"
        " --scale-bits {params.section[scale_bits]} --objective {params.section[objective]}"
        " --solver {params.section[solver]} --time-limit-s {params.section[time_limit_s]} --workers {threads}"
        " --out {output.csv} --out-choices {output.choices} > {log} 2>&1"


rule plot_fig10:
    input:
        allocation=ALLOCATION_CSVS,
        accuracy=ALLOCATION_ACCURACY,
    output:
        pdf=f"{FIGURES}/fig10_allocation_pareto.pdf",
        png=report(f"{FIGURES}/fig10_allocation_pareto.png", caption="../report/fig10_allocation_pareto.rst",
                   category="Allocation"),
    params:
        inputs=" ".join([f"--input allocation={path}" for path in ALLOCATION_CSVS]
                        + [f"--input accuracy={path}" for path in ALLOCATION_ACCURACY]),
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/figures/fig10_allocation_pareto.log",
    benchmark:
        f"{BENCHMARKS}/figures/fig10_allocation_pareto.tsv"
    shell:
        "python -m pvq plot fig10_allocation_pareto {params.inputs} --out {output.pdf} {output.png} > {log} 2>&1"


rule summarize_allocation_choices:
    input:
        choices=ALLOCATION_CHOICES,
        zoo_all=ZOO_CSVS,
    output:
        csv=f"{RESULTS}/allocation/choices_summary.csv",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/allocation/choices_summary.log",
    benchmark:
        f"{BENCHMARKS}/allocation/choices_summary.tsv"
    shell:
        "python -m pvq allocation summarize-choices --choices {input.choices} --zoo {input.zoo_all}"
        " --out {output.csv} > {log} 2>&1"


rule plot_fig11:
    input:
        choices=ALLOCATION_CHOICES,
        summary=rules.summarize_allocation_choices.output.csv,
    output:
        pdf=f"{FIGURES}/fig11_allocation_choices.pdf",
        png=report(f"{FIGURES}/fig11_allocation_choices.png", caption="../report/fig11_allocation_choices.rst",
                   category="Allocation"),
    params:
        inputs=" ".join(f"--input choices={path}" for path in ALLOCATION_CHOICES),
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/figures/fig11_allocation_choices.log",
    benchmark:
        f"{BENCHMARKS}/figures/fig11_allocation_choices.tsv"
    shell:
        "python -m pvq plot fig11_allocation_choices {params.inputs} --input choices_summary={input.summary}"
        " --out {output.pdf} {output.png} > {log} 2>&1"


rule summarize_allocation_formats:
    input:
        choices=ALLOCATION_FORMATS_CHOICES,
    output:
        csv=f"{RESULTS}/allocation/formats_shares.csv",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/allocation/formats_shares.log",
    benchmark:
        f"{BENCHMARKS}/allocation/formats_shares.tsv"
    shell:
        "python -m pvq allocation summarize-formats --choices {input.choices} --out {output.csv} > {log} 2>&1"


rule plot_fig15:
    input:
        allocation=ALLOCATION_CSVS,
        formats=ALLOCATION_FORMATS,
        shares=rules.summarize_allocation_formats.output.csv,
    output:
        pdf=f"{FIGURES}/fig15_allocation_formats.pdf",
        png=report(f"{FIGURES}/fig15_allocation_formats.png", caption="../report/fig15_allocation_formats.rst",
                   category="Allocation"),
    params:
        inputs=" ".join([f"--input allocation={path}" for path in ALLOCATION_CSVS]
                        + [f"--input allocation_formats={path}" for path in ALLOCATION_FORMATS]),
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/figures/fig15_allocation_formats.log",
    benchmark:
        f"{BENCHMARKS}/figures/fig15_allocation_formats.tsv"
    shell:
        "python -m pvq plot fig15_allocation_formats {params.inputs} --input formats_shares={input.shares}"
        " --out {output.pdf} {output.png} > {log} 2>&1"


FIG10_FILES = [*rules.plot_fig10.output]
FIG11_FILES = [*rules.plot_fig11.output]
FIG15_FILES = [*rules.plot_fig15.output]
STAGE_OUTPUTS["allocation"] = (ALLOCATION_CSVS + ALLOCATION_CHOICES + ALLOCATION_ACCURACY + ALLOCATION_FORMATS
                                + ALLOCATION_FORMATS_CHOICES + [*rules.summarize_allocation_choices.output]
                                + [*rules.summarize_allocation_formats.output])
STAGE_OUTPUTS.setdefault("figures", []).extend(FIG10_FILES + FIG11_FILES + FIG15_FILES)
