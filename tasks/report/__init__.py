"""The report: sweep figures (plots.py) and the Markdown/HTML draft (render.py), from an EvidenceBundle."""
