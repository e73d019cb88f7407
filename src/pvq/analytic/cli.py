"""Compute the analytic comparison tables (normal, truncated Student's t)."""

from __future__ import annotations

from pvq.analytic import study
from pvq.analytic.artifacts import NORMAL, NORMAL_LEVELS, NORMAL_PROFILE, STUDENT_T

HELP = __doc__


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="distribution", required=True, help="the distribution")
    normal = sub.add_parser("normal", help="standard normal: Fig. 1")
    normal.add_argument("--profile-bits", type=int, required=True,
                        help="bit width of the quantizer drawn in Fig. 1 (left, middle)")
    normal.add_argument("--profile-sparsity", type=float, required=True,
                        help="pruning sparsity drawn in Fig. 1 (left, middle)")
    normal.add_argument("--out-profile", required=True, help="the maps w -> Q(w), T(w) on a grid (CSV)")
    normal.add_argument("--out-levels", required=True, help="the probability mass of each compressed value (CSV)")
    t = sub.add_parser("student-t", help="truncated Student's t (nu = 2): Fig. 2, 5")
    t.add_argument("--r-min", type=float, required=True, help="smallest truncation range r")
    t.add_argument("--r-max", type=float, required=True, help="largest truncation range r")
    t.add_argument("--r-num", type=int, required=True, help="number of ranges, geometric from r-min to r-max")
    for p in (normal, t):
        p.add_argument("--bits", type=int, nargs="+", required=True,
                       help="bit widths b, each against pruning at sparsity 1 - b/baseline-bits")
        p.add_argument("--baseline-bits", type=int, required=True, help="bits of an uncompressed weight (16: FP16)")
        p.add_argument("--scan-points", type=int, required=True,
                       help="points of the global scan over the quantization step")
        p.add_argument("--out", required=True, help="comparison table (CSV)")


def run(args) -> None:
    if args.distribution == "normal":
        table = study.normal_table(args.bits, args.baseline_bits, args.scan_points)
        profile, levels = study.normal_profile(args.profile_bits, args.profile_sparsity,
                                               scan_points=args.scan_points)
        NORMAL_PROFILE.write(profile, args.out_profile)
        NORMAL_LEVELS.write(levels, args.out_levels)
        NORMAL.write(table, args.out)
    else:
        ranges = study.truncation_ranges(args.r_min, args.r_max, args.r_num)
        table = study.student_t_table(ranges, args.bits, args.baseline_bits, args.scan_points)
        STUDENT_T.write(table, args.out)
    print(table.to_string(index=False))
