"""Tribunal: SKEPTIC, VALIDATOR and SYNTHESIZER rule on an EvidenceBundle; revision rounds; the policy.

Plain Python (no prefect, no mlflow). The flow wrapper is flows/review.py.
"""
