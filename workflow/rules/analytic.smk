# Analytic distributions (paper §3.1-3.3, App. A-B): exact expected errors, Fig. 1, 2, 5.
ANALYTIC = config["analytic"]
EXPERIMENTS.append("analytic")


rule compute_analytic_normal:
    output:
        table=f"{RESULTS}/analytic/normal.csv",
        profile=f"{RESULTS}/analytic/normal_profile.csv",
        levels=f"{RESULTS}/analytic/normal_levels.csv",
    params:
        bits=ANALYTIC["bits"],
        baseline=config["baseline_bits"],
        scan=ANALYTIC["delta_scan_points"],
        profile=ANALYTIC["profile"],
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/analytic/normal.log",
    benchmark:
        f"{BENCHMARKS}/analytic/normal.tsv"
    shell:
        "python -m pvq analytic normal --bits {params.bits} --baseline-bits {params.baseline}"
        " --scan-points {params.scan} --profile-bits {params.profile[bits]}"
        " --profile-sparsity {params.profile[sparsity]} --out {output.table}"
        " --out-profile {output.profile} --out-levels {output.levels} > {log} 2>&1"


rule compute_analytic_student_t:
    output:
        table=f"{RESULTS}/analytic/student_t.csv",
    params:
        bits=ANALYTIC["bits"],
        baseline=config["baseline_bits"],
        scan=ANALYTIC["delta_scan_points"],
        r=ANALYTIC["t_range"],
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/analytic/student_t.log",
    benchmark:
        f"{BENCHMARKS}/analytic/student_t.tsv"
    shell:
        "python -m pvq analytic student-t --bits {params.bits} --baseline-bits {params.baseline}"
        " --scan-points {params.scan} --r-min {params.r[r_min]} --r-max {params.r[r_max]}"
        " --r-num {params.r[num]} --out {output.table} > {log} 2>&1"


rule plot_fig1:
    input:
        normal=rules.compute_analytic_normal.output.table,
        profile=rules.compute_analytic_normal.output.profile,
        levels=rules.compute_analytic_normal.output.levels,
    output:
        pdf=f"{FIGURES}/fig1_normal.pdf",
        png=report(f"{FIGURES}/fig1_normal.png", caption="../report/fig1_normal.rst",
                   category="§3.1-3.3 Distributions"),
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/figures/fig1_normal.log",
    benchmark:
        f"{BENCHMARKS}/figures/fig1_normal.tsv"
    shell:
        "python -m pvq plot fig1_normal --input normal={input.normal} --input profile={input.profile}"
        " --input levels={input.levels} --out {output.pdf} {output.png} > {log} 2>&1"


rule plot_fig2:
    input:
        student_t=rules.compute_analytic_student_t.output.table,
    output:
        pdf=f"{FIGURES}/fig2_student_t.pdf",
        png=report(f"{FIGURES}/fig2_student_t.png", caption="../report/fig2_student_t.rst",
                   category="§3.1-3.3 Distributions"),
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/figures/fig2_student_t.log",
    benchmark:
        f"{BENCHMARKS}/figures/fig2_student_t.tsv"
    shell:
        "python -m pvq plot fig2_student_t --input student_t={input.student_t}"
        " --out {output.pdf} {output.png} > {log} 2>&1"


rule plot_fig5:
    input:
        student_t=rules.compute_analytic_student_t.output.table,
    output:
        pdf=f"{FIGURES}/fig5_t_kurtosis.pdf",
        png=report(f"{FIGURES}/fig5_t_kurtosis.png", caption="../report/fig5_t_kurtosis.rst",
                   category="§3.1-3.3 Distributions"),
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/figures/fig5_t_kurtosis.log",
    benchmark:
        f"{BENCHMARKS}/figures/fig5_t_kurtosis.tsv"
    shell:
        "python -m pvq plot fig5_t_kurtosis --input student_t={input.student_t}"
        " --out {output.pdf} {output.png} > {log} 2>&1"


STAGE_OUTPUTS["analytic"] = [
    *rules.compute_analytic_normal.output,
    *rules.compute_analytic_student_t.output,
]
STAGE_OUTPUTS.setdefault("figures", []).extend(
    [*rules.plot_fig1.output, *rules.plot_fig2.output, *rules.plot_fig5.output]
)
