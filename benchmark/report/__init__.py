"""`robust-qmix report`: aggregate run directories into tables, figures, report.html and report.pdf.

Modules, one job each: runs (collect and validate run directories), stats (the rliable bootstrap),
aggregate (summary.csv), compare (--baseline), claims (criteria and the study's claims), sweeps (--sweeps:
knob settings beside the study's), labels (names, orders, colours), tables, plotting (the
figures' shared drawing kit), figures, facts (configuration and manifests), content (what a report shows),
html, pdf, build (writes everything) and command (the click command).
"""
