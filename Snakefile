# pvq: "Pruning vs Quantization: Which is Better?" reproduced as one DAG.
# `snakemake --cores N` builds everything; `snakemake --cores N fig2` builds one figure;
# overlays: `--configfile configs/smoke.yaml` (CI) or `configs/paper.yaml` (paper scale).
from snakemake.utils import min_version

min_version("9.0")


configfile: f"{workflow.basedir}/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/analytic.smk"
include: "workflow/rules/zoo.smk"
include: "workflow/rules/formats.smk"
include: "workflow/rules/perlayer.smk"
include: "workflow/rules/allocation.smk"
include: "workflow/rules/finetune.smk"
include: "workflow/rules/ptq.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/provenance.smk"


# Named targets: one per figure and table of the paper (fig10-fig15, table6: beyond the paper).
TARGETS = {
    "fig1": figure_files("fig1_normal"),
    "fig2": figure_files("fig2_student_t"),
    "fig3": FIG3_FILES,
    "fig4": figure_files("fig4_perlayer"),
    "fig5": figure_files("fig5_t_kurtosis"),
    "fig6": figure_files("fig6_snr_vs_accuracy"),
    "fig7": figure_files("fig7_representations_by_layer"),
    "fig8": figure_files("fig8_representations_last_layer"),
    "table1": rules.tabulate_table1.output,
    "table2": TABLE2_FILES,
    "table3": rules.make_table3.output,
    "table5": rules.tabulate_table5.output,
    "table6": [*rules.make_table6.output, *rules.make_table6_formats.output],
    "fig10": FIG10_FILES,
    "fig11": FIG11_FILES,
    "fig12": FIG12_FILES,
    "fig13": figure_files("fig13_perlayer_formats"),
    "fig14": FIG14_FILES,
    "fig15": FIG15_FILES,
    "compare": COMPARISON_TABLES,
    "cards": CARDS,
}


localrules: all, fig1, fig2, fig3, fig4, fig5, fig6, fig7, fig8, table1, table2, table3, table5, table6, fig10, fig11, fig12, fig13, fig14, fig15, compare, cards


rule all:
    default_target: True
    input:
        TARGETS.values(),
        PROVENANCE,


rule fig1:
    input:
        TARGETS["fig1"],


rule fig2:
    input:
        TARGETS["fig2"],


rule fig3:
    input:
        TARGETS["fig3"],


rule fig4:
    input:
        TARGETS["fig4"],


rule fig5:
    input:
        TARGETS["fig5"],


rule fig6:
    input:
        TARGETS["fig6"],


rule fig7:
    input:
        TARGETS["fig7"],


rule fig8:
    input:
        TARGETS["fig8"],


rule table1:
    input:
        TARGETS["table1"],


rule table2:
    input:
        TARGETS["table2"],


rule table3:
    input:
        TARGETS["table3"],


rule table5:
    input:
        TARGETS["table5"],


rule table6:
    input:
        TARGETS["table6"],


rule fig10:
    input:
        TARGETS["fig10"],


rule fig11:
    input:
        TARGETS["fig11"],


rule fig12:
    input:
        TARGETS["fig12"],


rule fig13:
    input:
        TARGETS["fig13"],


rule fig14:
    input:
        TARGETS["fig14"],


rule fig15:
    input:
        TARGETS["fig15"],


rule compare:
    input:
        TARGETS["compare"],


rule cards:
    input:
        TARGETS["cards"],
