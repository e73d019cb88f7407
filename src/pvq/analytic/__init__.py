"""Analytic comparison on known distributions (paper §3.1-3.3, App. A-B): exact, no sampling."""
