"""`robust-qmix report`: aggregate run directories into tables, figures, report.html and report.pdf.

Modules, one job each: runs (collect and validate run directories), stats (the rliable bootstrap),
aggregate (summary.csv), compare (--baseline), tables, figures, facts (configuration and manifests),
html, pdf, build (writes everything) and command (the click command).
"""
