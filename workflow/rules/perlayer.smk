# Per-layer post-training bounds (paper §4, App. F): calibration inputs -> certified brackets, Fig. 4, Table 3;
# today's one-shot methods against the certified optimum: Table 6 (and on today's formats, beside Fig. 13).
import re

PERLAYER = config["perlayer"]
PERLAYER_DIR = f"{RESULTS}/perlayer"
PERLAYER_CSVS = [f"{PERLAYER_DIR}/{model}/{layer}.csv"
                 for model, layers in PERLAYER["models"].items() for layer in layers]
PERLAYER_FORMAT_CSVS = [f"{PERLAYER_DIR}/{model}/formats/{layer}.csv"
                        for model, layers in PERLAYER["models"].items() for layer in layers]
EXPERIMENTS.append("perlayer")


wildcard_constraints:
    plmodel="|".join(re.escape(m) for m in PERLAYER["models"]),
    pllayer="|".join(re.escape(l) for layers in PERLAYER["models"].values() for l in layers),
    plpart=r"\d+",


rule collect_layer_inputs:
    output:
        f"{PERLAYER_DIR}/{{plmodel}}/inputs.npz",
    params:
        layers=lambda wildcards: PERLAYER["models"][wildcards.plmodel],
        bits=PERLAYER["bits"],
        imagenet=f"--imagenet {config['imagenet_path']}" if config["imagenet_path"] else "",
        chunk_features=PERLAYER["chunk_features"],
        chunks=PERLAYER["chunks"],
        out_channels=PERLAYER["out_channels"],
        images=PERLAYER["calibration_images"],
        seed=config["seed"],
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/perlayer/{{plmodel}}/collect.log",
    benchmark:
        f"{BENCHMARKS}/perlayer/{{plmodel}}/collect.tsv"
    shell:
        "python -m pvq perlayer collect --model {wildcards.plmodel} --layers {params.layers}"
        " --bits {params.bits} --chunk-features {params.chunk_features} --chunks {params.chunks}"
        " --out-channels {params.out_channels} --images {params.images}"
        " {params.imagenet} --seed {params.seed} --out {output} > {log} 2>&1"


rule bound_layer_part:
    input:
        rules.collect_layer_inputs.output,
    output:
        f"{PERLAYER_DIR}/{{plmodel}}/parts/{{pllayer}}.shard-{{plpart}}.csv",
    params:
        limits=PERLAYER["time_limits"],
        parts=PERLAYER["parts"],
        baseline=config["baseline_bits"],
        mip_channels=PERLAYER["mip_channels"],
        mip_bits=PERLAYER["mip_bits"],
        samples=PERLAYER["heuristic_samples"],
        oneshot=PERLAYER["oneshot"],
        seed=config["seed"],
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/perlayer/{{plmodel}}/{{pllayer}}.shard-{{plpart}}.log",
    benchmark:
        f"{BENCHMARKS}/perlayer/{{plmodel}}/{{pllayer}}.shard-{{plpart}}.tsv"
    shell:
        "python -m pvq perlayer solve --inputs {input} --model {wildcards.plmodel} --layer {wildcards.pllayer}"
        " --part {wildcards.plpart} --parts {params.parts} --baseline-bits {params.baseline}"
        " --damp {params.oneshot[damp]} --order {params.oneshot[order]}"
        " --prune-time-limit {params.limits[prune_exact]} --quant-time-limit {params.limits[quant_exact]}"
        " --mip-time-limit {params.limits[mip]} --mip-channels {params.mip_channels}"
        " --mip-bits {params.mip_bits}"
        " --heuristic-samples {params.samples} --seed {params.seed} --out {output} > {log} 2>&1"


rule merge_layer_parts:
    input:
        lambda wildcards: [f"{PERLAYER_DIR}/{wildcards.plmodel}/parts/{wildcards.pllayer}.shard-{part}.csv"
                           for part in range(PERLAYER["parts"])],
    output:
        f"{PERLAYER_DIR}/{{plmodel}}/{{pllayer}}.csv",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/perlayer/{{plmodel}}/{{pllayer}}.merge.log",
    benchmark:
        f"{BENCHMARKS}/perlayer/{{plmodel}}/{{pllayer}}.merge.tsv"
    shell:
        "python -m pvq perlayer merge --inputs {input} --out {output} > {log} 2>&1"


rule bound_layer_formats:
    input:
        rules.collect_layer_inputs.output,
    output:
        f"{PERLAYER_DIR}/{{plmodel}}/formats-parts/{{pllayer}}.shard-{{plpart}}.csv",
    params:
        parts=PERLAYER["parts"],
        chunk_features=PERLAYER["chunk_features"],
        nm=PERLAYER["formats"]["nm"],
        bits=PERLAYER["formats"]["bits"],
        limits=PERLAYER["time_limits"],
        oneshot=PERLAYER["oneshot"],
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/perlayer/{{plmodel}}/{{pllayer}}.formats.shard-{{plpart}}.log",
    benchmark:
        f"{BENCHMARKS}/perlayer/{{plmodel}}/{{pllayer}}.formats.shard-{{plpart}}.tsv"
    shell:
        "python -m pvq perlayer formats --inputs {input} --model {wildcards.plmodel} --layer {wildcards.pllayer}"
        " --part {wildcards.plpart} --parts {params.parts}"
        " --chunk-features {params.chunk_features} --nm {params.nm} --channel-bits {params.bits}"
        " --prune-time-limit {params.limits[prune_exact]} --quant-time-limit {params.limits[quant_exact]}"
        " --damp {params.oneshot[damp]} --order {params.oneshot[order]} --out {output} > {log} 2>&1"


rule merge_layer_formats:
    input:
        lambda wildcards: [f"{PERLAYER_DIR}/{wildcards.plmodel}/formats-parts/{wildcards.pllayer}.shard-{part}.csv"
                           for part in range(PERLAYER["parts"])],
    output:
        f"{PERLAYER_DIR}/{{plmodel}}/formats/{{pllayer}}.csv",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/perlayer/{{plmodel}}/{{pllayer}}.formats.merge.log",
    benchmark:
        f"{BENCHMARKS}/perlayer/{{plmodel}}/{{pllayer}}.formats.merge.tsv"
    shell:
        "python -m pvq perlayer merge-formats --inputs {input} --out {output} > {log} 2>&1"


rule make_table3:
    input:
        PERLAYER_CSVS,
    output:
        csv=report(f"{TABLES}/table3_perlayer.csv", caption="../report/table3_perlayer.rst",
                   category="§4 Per-layer bounds"),
        md=f"{TABLES}/table3_perlayer.md",
        tex=f"{TABLES}/table3_perlayer.tex",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/tables/table3_perlayer.log",
    benchmark:
        f"{BENCHMARKS}/tables/table3_perlayer.tsv"
    shell:
        "python -m pvq perlayer table3 --inputs {input} --out {output.csv} > {log} 2>&1"


rule summarize_perlayer_boxes:
    input:
        PERLAYER_CSVS,
    output:
        f"{PERLAYER_DIR}/chunk_boxes.csv",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/perlayer/chunk_boxes.log",
    benchmark:
        f"{BENCHMARKS}/perlayer/chunk_boxes.tsv"
    shell:
        "python -m pvq perlayer boxes --inputs {input} --out {output} > {log} 2>&1"


rule make_table6:
    input:
        PERLAYER_CSVS,
    output:
        csv=report(f"{TABLES}/table6_gap_to_optimum.csv", caption="../report/table6_gap_to_optimum.rst",
                   category="§4 Per-layer bounds"),
        md=f"{TABLES}/table6_gap_to_optimum.md",
        tex=f"{TABLES}/table6_gap_to_optimum.tex",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/tables/table6_gap_to_optimum.log",
    benchmark:
        f"{BENCHMARKS}/tables/table6_gap_to_optimum.tsv"
    shell:
        "python -m pvq perlayer table6 --inputs {input} --out {output.csv} > {log} 2>&1"


rule make_table6_formats:
    input:
        PERLAYER_FORMAT_CSVS,
    output:
        csv=report(f"{TABLES}/table6_formats_gap_to_optimum.csv",
                   caption="../report/table6_formats_gap_to_optimum.rst", category="§4 Per-layer bounds"),
        md=f"{TABLES}/table6_formats_gap_to_optimum.md",
        tex=f"{TABLES}/table6_formats_gap_to_optimum.tex",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/tables/table6_formats_gap_to_optimum.log",
    benchmark:
        f"{BENCHMARKS}/tables/table6_formats_gap_to_optimum.tsv"
    shell:
        "python -m pvq perlayer table6-formats --inputs {input} --out {output.csv} > {log} 2>&1"


rule plot_fig4:
    input:
        rules.summarize_perlayer_boxes.output,
    output:
        pdf=f"{FIGURES}/fig4_perlayer.pdf",
        png=report(f"{FIGURES}/fig4_perlayer.png", caption="../report/fig4_perlayer.rst",
                   category="§4 Per-layer bounds"),
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/figures/fig4_perlayer.log",
    benchmark:
        f"{BENCHMARKS}/figures/fig4_perlayer.tsv"
    shell:
        "python -m pvq plot fig4_perlayer --input perlayer_boxes={input} --out {output.pdf} {output.png} > {log} 2>&1"


rule summarize_perlayer_formats:
    input:
        bounds=PERLAYER_CSVS,
        formats=PERLAYER_FORMAT_CSVS,
    output:
        f"{PERLAYER_DIR}/format_boxes.csv",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/perlayer/format_boxes.log",
    benchmark:
        f"{BENCHMARKS}/perlayer/format_boxes.tsv"
    shell:
        "python -m pvq perlayer format-boxes --bounds {input.bounds} --formats {input.formats} --out {output}"
        " > {log} 2>&1"


rule plot_fig13:
    input:
        rules.summarize_perlayer_formats.output,
    output:
        pdf=f"{FIGURES}/fig13_perlayer_formats.pdf",
        png=report(f"{FIGURES}/fig13_perlayer_formats.png", caption="../report/fig13_perlayer_formats.rst",
                   category="§4 Per-layer bounds"),
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/figures/fig13_perlayer_formats.log",
    benchmark:
        f"{BENCHMARKS}/figures/fig13_perlayer_formats.tsv"
    shell:
        "python -m pvq plot fig13_perlayer_formats --input format_boxes={input} --out {output.pdf} {output.png}"
        " > {log} 2>&1"


STAGE_OUTPUTS["perlayer"] = (PERLAYER_CSVS + list(rules.summarize_perlayer_boxes.output) + PERLAYER_FORMAT_CSVS
                             + list(rules.summarize_perlayer_formats.output))
STAGE_OUTPUTS.setdefault("figures", []).extend([*rules.plot_fig4.output, *rules.plot_fig13.output])
STAGE_OUTPUTS.setdefault("tables", []).extend([*rules.make_table3.output, *rules.make_table6.output,
                                                *rules.make_table6_formats.output])
