# Today's formats at exact storage (beyond the paper): every method spec on every conv/linear tensor of
# each zoo model, the model-level Pareto fronts, Fig. 12; every grid against pruning on the analytic
# distributions, Fig. 2's region map with formats as rows.
from pvq.formats.specs import checked_methods

FORMATS = config["formats"]
# Canonical spec strings; a spec that does not parse stops the workflow here, naming its config key.
FORMAT_SPECS = list(checked_methods(FORMATS["specs"]))
FORMATS_CSVS = expand(f"{RESULTS}/formats/{{model}}.csv", model=ZOO_MODELS)
EXPERIMENTS.append("formats")


rule sweep_formats_model:
    output:
        csv=f"{RESULTS}/formats/{{model}}.csv",
    params:
        specs=FORMAT_SPECS,
        limit="" if FORMATS["max_tensors"] is None else f"--max-tensors {FORMATS['max_tensors']}",
    wildcard_constraints:
        model="|".join(ZOO_MODELS),
    threads: 2
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/formats/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/formats/{{model}}.tsv"
    shell:
        "python -m pvq formats sweep --model {wildcards.model} --spec {params.specs:q} {params.limit}"
        " --workers {threads} --out {output.csv} > {log} 2>&1"


rule summarize_formats:
    input:
        formats=FORMATS_CSVS,
    output:
        csv=f"{RESULTS}/formats/pareto.csv",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/formats/pareto.log",
    benchmark:
        f"{BENCHMARKS}/formats/pareto.tsv"
    shell:
        "python -m pvq formats pareto --input {input.formats} --out {output.csv} > {log} 2>&1"


rule plot_fig12:
    input:
        pareto=rules.summarize_formats.output.csv,
    output:
        pdf=f"{FIGURES}/fig12_formats.pdf",
        png=report(f"{FIGURES}/fig12_formats.png", caption="../report/fig12_formats.rst",
                   category="Beyond the paper: formats"),
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/figures/fig12_formats.log",
    benchmark:
        f"{BENCHMARKS}/figures/fig12_formats.tsv"
    shell:
        "python -m pvq plot fig12_formats --input pareto={input.pareto} --out {output.pdf} {output.png} > {log} 2>&1"


rule compute_analytic_formats:
    output:
        table=f"{RESULTS}/analytic/formats.csv",
    params:
        grids=FORMATS["analytic_grids"],
        baseline=config["baseline_bits"],
        scan=config["analytic"]["delta_scan_points"],
        r=config["analytic"]["t_range"],
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/analytic/formats.log",
    benchmark:
        f"{BENCHMARKS}/analytic/formats.tsv"
    shell:
        "python -m pvq formats analytic --grids {params.grids} --baseline-bits {params.baseline}"
        " --scan-points {params.scan} --r-min {params.r[r_min]} --r-max {params.r[r_max]}"
        " --r-num {params.r[num]} --out {output.table} > {log} 2>&1"


rule plot_fig2_formats_regions:
    input:
        formats=rules.compute_analytic_formats.output.table,
    output:
        pdf=f"{FIGURES}/fig2_formats_regions.pdf",
        png=report(f"{FIGURES}/fig2_formats_regions.png", caption="../report/fig2_formats_regions.rst",
                   category="Beyond the paper: formats"),
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/figures/fig2_formats_regions.log",
    benchmark:
        f"{BENCHMARKS}/figures/fig2_formats_regions.tsv"
    shell:
        "python -m pvq plot fig2_formats_regions --input analytic_formats={input.formats}"
        " --out {output.pdf} {output.png} > {log} 2>&1"


FIG12_FILES = [*rules.plot_fig12.output, *rules.plot_fig2_formats_regions.output]
STAGE_OUTPUTS["formats"] = [*FORMATS_CSVS, *rules.summarize_formats.output]
STAGE_OUTPUTS["analytic"].extend(rules.compute_analytic_formats.output)
STAGE_OUTPUTS.setdefault("figures", []).extend(FIG12_FILES)
