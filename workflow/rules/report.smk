# The paper, reproduced: published-vs-reproduced tables and quantization cards.
import json


rule compare_fig1:
    input:
        normal=rules.compute_analytic_normal.output.table,
    output:
        csv=report(f"{TABLES}/compare_fig1_normal.csv", caption="../report/compare_fig1_normal.rst",
                   category="Published vs reproduced"),
        md=f"{TABLES}/compare_fig1_normal.md",
        tex=f"{TABLES}/compare_fig1_normal.tex",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/report/compare_fig1.log",
    benchmark:
        f"{BENCHMARKS}/report/compare_fig1.tsv"
    shell:
        "python -m pvq report compare fig1 --input {input.normal} --out {output.csv} > {log} 2>&1"


rule compare_fig2:
    input:
        student_t=rules.compute_analytic_student_t.output.table,
    output:
        csv=report(f"{TABLES}/compare_fig2_student_t.csv", caption="../report/compare_fig2_student_t.rst",
                   category="Published vs reproduced"),
        md=f"{TABLES}/compare_fig2_student_t.md",
        tex=f"{TABLES}/compare_fig2_student_t.tex",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/report/compare_fig2.log",
    benchmark:
        f"{BENCHMARKS}/report/compare_fig2.tsv"
    shell:
        "python -m pvq report compare fig2 --input {input.student_t} --out {output.csv} > {log} 2>&1"


rule compare_fig3:
    input:
        zoo=ZOO_CSVS,
    output:
        csv=report(f"{TABLES}/compare_fig3_zoo_snr.csv", caption="../report/compare_fig3_zoo_snr.rst",
                   category="Published vs reproduced"),
        md=f"{TABLES}/compare_fig3_zoo_snr.md",
        tex=f"{TABLES}/compare_fig3_zoo_snr.tex",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/report/compare_fig3.log",
    benchmark:
        f"{BENCHMARKS}/report/compare_fig3.tsv"
    shell:
        "python -m pvq report compare fig3 --input {input.zoo} --out {output.csv} > {log} 2>&1"


rule compare_table2:
    input:
        zoo=ZOO_CSVS,
    output:
        csv=report(f"{TABLES}/compare_table2_natural_sparsity.csv",
                   caption="../report/compare_table2_natural_sparsity.rst", category="Published vs reproduced"),
        md=f"{TABLES}/compare_table2_natural_sparsity.md",
        tex=f"{TABLES}/compare_table2_natural_sparsity.tex",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/report/compare_table2.log",
    benchmark:
        f"{BENCHMARKS}/report/compare_table2.tsv"
    shell:
        "python -m pvq report compare table2 --input {input.zoo} --out {output.csv} > {log} 2>&1"
rule compare_table1:
    input:
        table=rules.tabulate_table1.output.csv,
    output:
        csv=report(f"{TABLES}/compare_table1_finetune.csv", caption="../report/compare_table1_finetune.rst",
                   category="Published vs reproduced"),
        md=f"{TABLES}/compare_table1_finetune.md",
        tex=f"{TABLES}/compare_table1_finetune.tex",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/report/compare_table1.log",
    benchmark:
        f"{BENCHMARKS}/report/compare_table1.tsv"
    shell:
        "python -m pvq report compare table1 --input {input.table} --out {output.csv} > {log} 2>&1"


rule compare_table5:
    input:
        long=rules.tabulate_table5.output.csv,
        short=rules.tabulate_table1.output.csv,
    output:
        csv=report(f"{TABLES}/compare_table5_finetune_long.csv",
                   caption="../report/compare_table5_finetune_long.rst", category="Published vs reproduced"),
        md=f"{TABLES}/compare_table5_finetune_long.md",
        tex=f"{TABLES}/compare_table5_finetune_long.tex",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/report/compare_table5.log",
    benchmark:
        f"{BENCHMARKS}/report/compare_table5.tsv"
    shell:
        "python -m pvq report compare table5 --input {input.long} {input.short} --out {output.csv} > {log} 2>&1"


rule write_quantization_card:
    output:
        report(f"{RESULTS}/cards/{{experiment}}.md", caption="../report/quantization_card.rst",
               category="Quantization cards"),
    params:
        config=json.dumps(config, sort_keys=True),
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/cards/{{experiment}}.log",
    benchmark:
        f"{BENCHMARKS}/cards/{{experiment}}.tsv"
    wildcard_constraints:
        experiment="|".join(EXPERIMENTS),
    shell:
        "python -m pvq report card {wildcards.experiment} --config-json {params.config:q}"
        " --out {output} > {log} 2>&1"


COMPARISON_TABLES = [*rules.compare_fig1.output, *rules.compare_fig2.output, *rules.compare_fig3.output,
                     *rules.compare_table2.output, *rules.compare_table1.output, *rules.compare_table5.output]
CARDS = expand(f"{RESULTS}/cards/{{experiment}}.md", experiment=EXPERIMENTS)
STAGE_OUTPUTS["tables"] = STAGE_OUTPUTS.get("tables", []) + COMPARISON_TABLES
STAGE_OUTPUTS["cards"] = CARDS
