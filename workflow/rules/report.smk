# The paper, reproduced: a published-vs-reproduced table per figure and table, and quantization cards.
import json

# compare_<name> reads these artifacts (as --input <argument>=<csv>; pvq.report.cli.COMPARISONS).
COMPARISON_INPUTS = {
    "fig1_normal": {"normal": rules.compute_analytic_normal.output.table},
    "fig2_student_t": {"student_t": rules.compute_analytic_student_t.output.table},
    "fig3_zoo_snr": {"zoo": ZOO_CSVS},
    "fig4_perlayer": {"perlayer": PERLAYER_CSVS},
    "fig5_t_kurtosis": {"student_t": rules.compute_analytic_student_t.output.table},
    "fig6_snr_vs_accuracy": {"correlation": rules.plot_fig6.input.correlation},
    "fig7_representations_by_layer": {"representations": list(rules.plot_fig7.input)},
    "fig8_representations_last_layer": {"representations": REPRESENTATIONS},
    "table1_finetune": {"table1_finetune": rules.tabulate_table1.output.csv},
    "table2_natural_sparsity": {"zoo": ZOO_CSVS},
    "table3_perlayer": {"perlayer": PERLAYER_CSVS},
    "table5_finetune_long": {"table5_finetune_long": rules.tabulate_table5.output.csv,
                             "table1_finetune": rules.tabulate_table1.output.csv},
}
# A stage configured with no models has nothing to compare.
COMPARISON_INPUTS = {name: inputs for name, inputs in COMPARISON_INPUTS.items() if all(inputs.values())}
# The artifacts each quantization card describes (pvq.report.cards).
CARD_INPUTS = {
    "analytic": {"normal": rules.compute_analytic_normal.output.table,
                 "student_t": rules.compute_analytic_student_t.output.table},
    "zoo": {"zoo": ZOO_CSVS},
    "perlayer": {"perlayer": PERLAYER_CSVS, "perlayer_formats": PERLAYER_FORMAT_CSVS},
    "allocation": {"allocation": ALLOCATION_CSVS, "allocation_formats": ALLOCATION_FORMATS,
                   "fp": [f"{FINETUNE_DIR}/{model}/fp.json" for model in ALLOCATION_TRAINED]},
    "finetune": {"runs": FINETUNE_RUNS, "long": FINETUNE_LONG_RUNS,
                 "fp": expand(f"{FINETUNE_DIR}/{{model}}/fp.json", model=FINETUNE_MODELS)},
    "ptq": {"ptq": PTQ_CSVS},
    "formats": {"formats": FORMATS_CSVS, "pareto": rules.summarize_formats.output.csv,
                "analytic_formats": rules.compute_analytic_formats.output.table},
}
CARD_EXPERIMENTS = [name for name in EXPERIMENTS if any(CARD_INPUTS[name].values())]


rule compare_published:
    input:
        unpack(lambda wildcards: COMPARISON_INPUTS[wildcards.comparison]),
    output:
        csv=report(f"{TABLES}/compare_{{comparison}}.csv", caption="../report/compare.rst",
                   category="Published vs reproduced", labels={"comparison": "{comparison}"}),
        md=f"{TABLES}/compare_{{comparison}}.md",
        tex=f"{TABLES}/compare_{{comparison}}.tex",
    params:
        inputs=lambda wildcards, input: " ".join(f"--input {name}={path}" for name, paths in input.items()
                                                 for path in ([paths] if isinstance(paths, str) else paths)),
        seed=config["seed"],
    wildcard_constraints:
        comparison="|".join(COMPARISON_INPUTS) or "(?!)",  # (?!): matches nothing
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/report/compare_{{comparison}}.log",
    benchmark:
        f"{BENCHMARKS}/report/compare_{{comparison}}.tsv"
    shell:
        "python -m pvq report compare {wildcards.comparison} {params.inputs} --seed {params.seed}"
        " --out {output.csv} > {log} 2>&1"


rule write_quantization_card:
    input:
        unpack(lambda wildcards: CARD_INPUTS[wildcards.experiment]),
    output:
        report(f"{RESULTS}/cards/{{experiment}}.md", caption="../report/quantization_card.rst",
               category="Quantization cards"),
    params:
        config=json.dumps(config, sort_keys=True),
        inputs=lambda wildcards, input: " ".join(f"--input {name}={path}" for name, paths in input.items()
                                                 for path in ([paths] if isinstance(paths, str) else paths)),
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/cards/{{experiment}}.log",
    benchmark:
        f"{BENCHMARKS}/cards/{{experiment}}.tsv"
    wildcard_constraints:
        experiment="|".join(CARD_EXPERIMENTS) or "(?!)",
    shell:
        "python -m pvq report card {wildcards.experiment} --config-json {params.config:q} {params.inputs}"
        " --out {output} > {log} 2>&1"


COMPARISON_TABLES = expand(f"{TABLES}/compare_{{comparison}}.{{ext}}", comparison=COMPARISON_INPUTS,
                           ext=["csv", "md", "tex"])
CARDS = expand(f"{RESULTS}/cards/{{experiment}}.md", experiment=CARD_EXPERIMENTS)
STAGE_OUTPUTS["tables"] = STAGE_OUTPUTS.get("tables", []) + COMPARISON_TABLES
STAGE_OUTPUTS["cards"] = CARDS
