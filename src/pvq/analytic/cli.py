"""Compute the analytic comparison tables (normal, truncated Student's t)."""

from __future__ import annotations

from pvq.analytic import study
from pvq.io import write_csv

HELP = __doc__


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="distribution", required=True)
    normal = sub.add_parser("normal", help="standard normal: Fig. 1")
    normal.add_argument("--profile-bits", type=int, required=True)
    normal.add_argument("--profile-sparsity", type=float, required=True)
    normal.add_argument("--out-profile", required=True)
    normal.add_argument("--out-levels", required=True)
    t = sub.add_parser("student-t", help="truncated Student's t (nu = 2): Fig. 2, 5")
    t.add_argument("--r-min", type=float, required=True)
    t.add_argument("--r-max", type=float, required=True)
    t.add_argument("--r-num", type=int, required=True)
    for p in (normal, t):
        p.add_argument("--bits", type=int, nargs="+", required=True)
        p.add_argument("--baseline-bits", type=int, default=16)
        p.add_argument("--scan-points", type=int, default=2000)
        p.add_argument("--out", required=True, help="comparison table (CSV)")


def run(args) -> None:
    if args.distribution == "normal":
        table = study.normal_table(args.bits, args.baseline_bits, args.scan_points)
        profile, levels = study.normal_profile(args.profile_bits, args.profile_sparsity,
                                               scan_points=args.scan_points)
        write_csv(profile, args.out_profile)
        write_csv(levels, args.out_levels)
    else:
        ranges = study.truncation_ranges(args.r_min, args.r_max, args.r_num)
        table = study.student_t_table(ranges, args.bits, args.baseline_bits, args.scan_points)
    write_csv(table, args.out)
    print(table.to_string(index=False))
