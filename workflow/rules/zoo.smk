# Model-zoo weight sweep (paper §3.4, App. C, E): every conv/linear tensor, Fig. 3, Table 2.
from pvq.models.registry import cached_torchvision_models

ZOO = config["zoo"]
ZOO_MODELS = list(dict.fromkeys(
    ZOO["models"] + (cached_torchvision_models() if ZOO["torchvision_cached"] else [])))
ZOO_CSVS = expand(f"{RESULTS}/zoo/{{model}}.csv", model=ZOO_MODELS)
ZOO_INPUTS = " ".join(f"--input zoo={path}" for path in ZOO_CSVS)
FIG3 = ["fig3_zoo_snr", "fig3_zoo_snr_masked", "fig3_kurtosis_regions", "fig3_kurtosis_regions_masked"]
EXPERIMENTS.append("zoo")


rule sweep_zoo_model:
    output:
        csv=f"{RESULTS}/zoo/{{model}}.csv",
    params:
        bits=ZOO["bits"],
        baseline=config["baseline_bits"],
        candidates=ZOO["scale_candidates"],
        limit="" if ZOO["max_tensors"] is None else f"--max-tensors {ZOO['max_tensors']}",
    wildcard_constraints:
        model="|".join(ZOO_MODELS),
    threads: 2
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/zoo/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/zoo/{{model}}.tsv"
    shell:
        "python -m pvq zoo sweep --model {wildcards.model} --bits {params.bits}"
        " --baseline-bits {params.baseline} --candidates {params.candidates} {params.limit} --workers {threads}"
        " --out {output.csv} > {log} 2>&1"


rule plot_fig3_zoo_snr:
    input:
        zoo=ZOO_CSVS,
    output:
        pdf=f"{FIGURES}/{{figure}}.pdf",
        png=report(f"{FIGURES}/{{figure}}.png", caption="../report/fig3_zoo_snr.rst",
                   category="§3.4 Model zoo"),
    params:
        inputs=ZOO_INPUTS,
    wildcard_constraints:
        figure="fig3_zoo_snr(_masked)?",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/figures/{{figure}}.log",
    benchmark:
        f"{BENCHMARKS}/figures/{{figure}}.tsv"
    shell:
        "python -m pvq plot {wildcards.figure} {params.inputs} --out {output.pdf} {output.png} > {log} 2>&1"


rule summarize_zoo_regions:
    input:
        zoo=ZOO_CSVS,
    output:
        f"{RESULTS}/zoo/kurtosis_regions.csv",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/zoo/kurtosis_regions.log",
    benchmark:
        f"{BENCHMARKS}/zoo/kurtosis_regions.tsv"
    shell:
        "python -m pvq zoo regions --input {input.zoo} --out {output} > {log} 2>&1"


rule plot_fig3_kurtosis_regions:
    input:
        zoo=ZOO_CSVS,
        regions=rules.summarize_zoo_regions.output,
    output:
        pdf=f"{FIGURES}/{{figure}}.pdf",
        png=report(f"{FIGURES}/{{figure}}.png", caption="../report/fig3_kurtosis_regions.rst",
                   category="§3.4 Model zoo"),
    params:
        inputs=ZOO_INPUTS,
    wildcard_constraints:
        figure="fig3_kurtosis_regions(_masked)?",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/figures/{{figure}}.log",
    benchmark:
        f"{BENCHMARKS}/figures/{{figure}}.tsv"
    shell:
        "python -m pvq plot {wildcards.figure} {params.inputs} --input zoo_regions={input.regions}"
        " --out {output.pdf} {output.png} > {log} 2>&1"


rule tabulate_table2:
    input:
        zoo=ZOO_CSVS,
    output:
        csv=report(f"{TABLES}/table2_natural_sparsity.csv", caption="../report/table2_natural_sparsity.rst",
                   category="§3.4 Model zoo"),
        md=f"{TABLES}/table2_natural_sparsity.md",
        tex=f"{TABLES}/table2_natural_sparsity.tex",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/tables/table2_natural_sparsity.log",
    benchmark:
        f"{BENCHMARKS}/tables/table2_natural_sparsity.tsv"
    shell:
        "python -m pvq zoo table2 --input {input.zoo} --out {output.csv} > {log} 2>&1"


FIG3_FILES = [path for name in FIG3 for path in figure_files(name)]
TABLE2_FILES = [*rules.tabulate_table2.output]
STAGE_OUTPUTS["zoo"] = ZOO_CSVS + list(rules.summarize_zoo_regions.output)
STAGE_OUTPUTS.setdefault("figures", []).extend(FIG3_FILES)
STAGE_OUTPUTS.setdefault("tables", []).extend(TABLE2_FILES)
