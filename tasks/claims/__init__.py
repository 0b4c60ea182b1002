"""Claims stage: extract checkable claims from papers, verify them against evidence and our measurements."""
